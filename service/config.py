"""All configuration in one typed Settings class, read from ATLAS_* environment variables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from indexer.embedding import BUNDLED_MODEL, DEFAULT_PASSAGE_PREFIX, DEFAULT_QUERY_PREFIX, default_cache_dir

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Service and CLI settings; each field can be set as ATLAS_<NAME> (e.g. ATLAS_INDEX_DIR)."""

    model_config = SettingsConfigDict(env_prefix="ATLAS_", env_file=".env", env_ignore_empty=True, extra="ignore")

    index_dir: Path = Field(ROOT / "var" / "index", description="Folder holding the search index builds.")
    corpus_dir: Path = Field(ROOT / "corpus", description="Folder with taxonomy.yaml and solutions/*.md.")
    embedding_model: str = Field(BUNDLED_MODEL, description="sentence-transformers model name or path.")
    cache_dir: Path = Field(default_factory=default_cache_dir, description="Where converted models are cached.")
    tune: bool = Field(True, description="atlas index fine-tunes the model on the corpus first (atlas tune); "
                       "false = index with the base model.")
    query_prefix: str = DEFAULT_QUERY_PREFIX
    passage_prefix: str = DEFAULT_PASSAGE_PREFIX
    prompts_dir: Path = ROOT / "prompts"
    web_dir: Path = ROOT / "web"
    max_query_chars: int = Field(2000, ge=50, le=20000)
    reload_interval: float = Field(2.0, ge=0, description="Seconds between checks for a newly published index build.")
    min_fit: float | None = Field(None, ge=0, le=1, description="'Nothing fits' threshold: the domain detector's probability "
                                 "below which a question is refused; unset = the calibrated default, 0 = never refuse.")
    default_limit: int = Field(5, ge=1, le=50)
    max_limit: int = Field(20, ge=1, le=100)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    @field_validator("embedding_model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("ATLAS_EMBEDDING_MODEL is empty: set a model name or path, or unset it for the default.")
        return value.strip()

    # Page, widget and feedback (issue 6)
    # NoDecode: the variable is a plain comma-separated list ("https://a.example, https://b.example"), not JSON.
    embed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins that may embed the page and widget (CSP frame-ancestors) and call /api/* (CORS).",
    )
    feedback_db: Path = Field(ROOT / "var" / "feedback.sqlite3", description="SQLite file for answer feedback.")

    @field_validator("embed_origins", mode="before")
    @classmethod
    def _origins_are_origins(cls, value: object) -> list[str]:
        items = value.split(",") if isinstance(value, str) else value if isinstance(value, list | tuple) else [value]
        origins = []
        for item in (str(i).strip().rstrip("/") for i in items if i is not None and str(i).strip()):
            # An origin is scheme://host[:port]; a path or a wildcard would be silently ignored by browsers.
            if not re.fullmatch(r"https?://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?", item, re.IGNORECASE):
                raise ValueError(
                    f"ATLAS_EMBED_ORIGINS: '{item}' is not an origin. Use scheme://host[:port] without path or wildcard, "
                    "e.g. https://www.beispielstadt.de; separate several with commas."
                )
            origins.append(item.lower())
        return origins
