"""Settings the indexer needs, read from ATLAS_* environment variables; the service extends them (service/config.py)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexer.embedding import BUNDLED_MODEL, DEFAULT_PASSAGE_PREFIX, DEFAULT_QUERY_PREFIX, default_cache_dir


class IndexerSettings(BaseSettings):
    """Corpus, index and model settings; each field can be set as ATLAS_<NAME> (e.g. ATLAS_INDEX_DIR)."""

    model_config = SettingsConfigDict(env_prefix="ATLAS_", env_file=".env", env_ignore_empty=True, extra="ignore")

    index_dir: Path = Field(Path("var/index"), description="Folder holding the search index builds.")
    corpus_dir: Path = Field(Path("corpus"), description="Folder with taxonomy.yaml and solutions/*.md.")
    embedding_model: str = Field(BUNDLED_MODEL, description="sentence-transformers model name or path.")
    cache_dir: Path = Field(default_factory=default_cache_dir, description="Where converted and tuned models are cached.")
    tune: bool = Field(True, description="atlas index fine-tunes the model on the corpus first (atlas tune); "
                       "false = index with the base model.")
    query_prefix: str = DEFAULT_QUERY_PREFIX
    passage_prefix: str = DEFAULT_PASSAGE_PREFIX

    @field_validator("embedding_model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("ATLAS_EMBEDDING_MODEL is empty: set a model name or path, or unset it for the default.")
        return value.strip()
