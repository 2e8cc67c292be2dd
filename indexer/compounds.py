"""German compound splitting: CharSplit's scoring (compound-split on PyPI) over a compact copy of its n-gram table.

compound-split keeps its German n-gram probabilities as three Python dicts (1.9 million entries) and its
``char_split`` module also imports the Dutch ones: together about 350 MB in every process that analyses text.
Here the German table is copied once into sorted 64-bit hashes with their probabilities (about 30 MB of .npy
files in the model cache), which every replica memory-maps and shares. The copy is made in a child process, so
the dicts never stay in a serving process. The scoring below gives the same best split as
``char_split.split_compound`` (tests/test_text.py compares them).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

TABLES = ("prefix", "infix", "suffix")


def _hash(ngram: str) -> int:
    return int.from_bytes(hashlib.blake2b(ngram.encode("utf-8"), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class _Table:
    keys: np.ndarray  # sorted uint64 hashes
    values: np.ndarray  # float64 log-probabilities, in the same order

    def get(self, hashes: np.ndarray, default: float) -> np.ndarray:
        at = np.searchsorted(self.keys, hashes).clip(max=len(self.keys) - 1)
        return np.where(self.keys[at] == hashes, self.values[at], default)


def table_dir(cache_dir: Path) -> Path:
    """Where the compact table for the installed compound-split version lives."""
    return cache_dir / "compounds" / f"de-{metadata.version('compound-split')}"


def write_table(target: Path) -> None:
    """Copy compound-split's German n-gram dicts into ``target`` (atomically: all files or none)."""
    from compound_split import de_ngram_probs  # the German table only; char_split would load the Dutch one too

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".compounds-", dir=target.parent))
    for name in TABLES:
        probs: dict[str, float] = getattr(de_ngram_probs, name)
        keys = np.fromiter((_hash(k) for k in probs), dtype=np.uint64, count=len(probs))
        values = np.fromiter(probs.values(), dtype=np.float64, count=len(probs))
        order = np.argsort(keys, kind="stable")
        np.save(work / f"{name}_keys.npy", keys[order])
        np.save(work / f"{name}_values.npy", values[order])
    try:
        os.replace(work, target)
    except OSError:  # another process finished first: its copy is the same
        for file in work.iterdir():
            file.unlink()
        work.rmdir()


@lru_cache(maxsize=1)
def _tables() -> dict[str, _Table]:
    from indexer.settings import IndexerSettings  # ATLAS_CACHE_DIR, read the same way as everywhere else

    target = table_dir(IndexerSettings().cache_dir)
    if not (target / "suffix_values.npy").is_file():
        log.info("Copying the compound-splitting table into %s (first use only)", target)
        done = subprocess.run([sys.executable, "-m", "indexer.compounds", str(target)], check=False)
        if done.returncode != 0 or not (target / "suffix_values.npy").is_file():
            raise RuntimeError(f"Die Tabelle für die Zerlegung von Komposita konnte nicht in {target} angelegt werden.")
    return {
        name: _Table(np.load(target / f"{name}_keys.npy", mmap_mode="r"), np.load(target / f"{name}_values.npy", mmap_mode="r"))
        for name in TABLES
    }


def _cut_off_fugen_s(word: str) -> str:
    # The linking -s of "Arbeits|platz", as CharSplit strips it before looking a head up.
    if word.endswith(("ts", "gs", "ks", "hls", "ns")) and len(word) > 3:
        return word[:-1]
    return word


def best_split(word: str) -> tuple[float, str, str] | None:
    """The best-scoring split of ``word`` as (score, head, tail), lower case; None if it is too short to split."""
    word = word.lower()
    if "-" in word:
        cut = word.rfind("-")
        return 1.0, word[:cut], word[cut + 1:]
    positions = range(3, len(word) - 2)
    if not positions:
        return None
    tables = _tables()
    heads = [_cut_off_fugen_s(word[:n]) for n in positions]
    tails = [_cut_off_fugen_s(word[n:]) for n in positions]
    inner = [[word[n:k] for k in range(len(word), n + 2, -1)] for n in positions]
    head_p = tables["suffix"].get(np.array([_hash(h) for h in heads], dtype=np.uint64), -1.0)
    tail_p = tables["prefix"].get(np.array([_hash(t) for t in tails], dtype=np.uint64), -1.0)
    flat = [gram for grams in inner for gram in grams]
    inner_p = tables["infix"].get(np.array([_hash(g) for g in flat], dtype=np.uint64), 1.0)
    best: tuple[float, str, str] | None = None
    start = 0
    for i, n in enumerate(positions):
        lowest = float(inner_p[start:start + len(inner[i])].min())
        start += len(inner[i])
        score = float(tail_p[i]) - lowest + float(head_p[i])
        # CharSplit sorts (score, Head, Tail) in reverse: ties go to the later title-cased strings
        candidate = (score, word[:n].title(), word[n:].title())
        if best is None or candidate > best:
            best = candidate
    assert best is not None
    return best[0], best[1].lower(), best[2].lower()


if __name__ == "__main__":
    write_table(Path(sys.argv[1]))
