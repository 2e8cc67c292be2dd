"""Build an index artifact from a corpus folder."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from indexer.artifact import Manifest, package_version, utc_now, write_build
from indexer.corpus import Corpus, Problem, Record
from indexer.domain import bare, load_negatives, train_detector
from indexer.embedding import Embedder
from indexer.text import analyze


class CorpusInvalidError(Exception):
    """The corpus has errors; nothing was indexed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} Fehler im Korpus – der Index wurde nicht verändert.")
        self.problems = problems


# "-3": vectors cached before index format 3 may come from another tuned model's weights; they are never read.
VECTORS_FILE = "vectors-3.sqlite3"


class VectorCache:
    """Vectors per text, kept in the model cache (SQLite), so a publish embeds only the texts that changed.

    A key covers the model (name and tuned variant), the prefix and the text: another model never reads them.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.path = embedder.cache_dir / VECTORS_FILE
        self.encoded = 0  # texts that were not cached and went through the model

    def _key(self, prefix: str, text: str) -> str:
        e = self.embedder
        return hashlib.sha256(json.dumps([e.name, e.tuned, prefix, text], ensure_ascii=False).encode()).hexdigest()[:32]

    def _vectors(self, texts: list[str], prefix: str, encode: Callable[[list[str], bool], np.ndarray],
                 progress: bool) -> np.ndarray:
        dimension = self.embedder.dimension
        if not texts:
            return np.zeros((0, dimension), dtype=np.float32)
        keys = [self._key(prefix, t) for t in texts]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        found: dict[str, np.ndarray] = {}
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
            unique = sorted(set(keys))
            for start in range(0, len(unique), 500):
                chunk = unique[start:start + 500]
                rows = db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (dimension,):
                        found[key] = vector
        first: dict[str, int] = {}  # each uncached text once
        for i, key in enumerate(keys):
            if key not in found:
                first.setdefault(key, i)
        missing = list(first.values())
        if missing:
            fresh = encode([texts[i] for i in missing], progress)
            self.encoded += len(missing)
            with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
                db.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                               [(keys[i], np.ascontiguousarray(v, dtype=np.float32).tobytes()) for i, v in zip(missing, fresh, strict=True)])
            for i, vector in zip(missing, fresh, strict=True):
                found[keys[i]] = vector
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def queries(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._vectors(texts, self.embedder.query_prefix, lambda t, p: self.embedder.encode_queries(t, progress=p), progress)

    def passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._vectors(texts, self.embedder.passage_prefix, lambda t, p: self.embedder.encode_passages(t, progress=p),
                             progress)


@dataclass
class BuildResult:
    path: Path
    manifest: Manifest
    corpus: Corpus
    encoded: int = 0  # texts the model had to embed (the rest came from the vector cache)


def build_index(corpus: Corpus, index_dir: Path, embedder: Embedder, progress: bool = False,
                background: list[Record] | tuple[Record, ...] = (),
                on_step: Callable[[str, float], None] | None = None) -> BuildResult:
    """Embed a checked corpus and publish it; the live index changes only if every step succeeds.

    ``background`` (the atlas's own records) adds to what the "nothing fits" detector learns as answerable: a
    60-record atlas is a thin description of the domain.

    Raises:
        CorpusInvalidError: if any record has an error or there are no records.
    """
    if corpus.errors:
        raise CorpusInvalidError(corpus.errors)
    if not corpus.records:
        raise CorpusInvalidError([Problem(str(corpus.root), "solutions", "keine Lösungen gefunden",
                                          "Legen Sie mindestens eine Datei solutions/<id>.md an.")])
    step = on_step or (lambda _name, _share: None)  # what runs now, and the share of the build done before it
    records = sorted(corpus.records, key=lambda r: r.id)
    cache = VectorCache(embedder)
    step("Lösungen einbetten", 0.0)
    vectors = cache.passages([r.passage() for r in records], progress=progress)
    step("Herausforderungen einbetten", 0.3)
    challenge_vectors = cache.queries([c for r in records for c in r.challenges], progress=progress)
    step("Themenerkennung trainieren", 0.6)
    negatives = load_negatives()
    detector = None
    if negatives:
        # Planning questions come as challenges, as solution names and as short descriptions; the detector
        # learns all three as "answerable here" (challenges alone made it refuse keyword questions).
        own = {r.id for r in records}
        heads = cache.queries([t for r in records for t in (r.title, r.summary)], progress=progress)
        extra = cache.queries([t for r in background if r.id not in own for t in (r.title, r.summary, *r.challenges)])
        detector = train_detector(np.concatenate([challenge_vectors, heads, extra]),
                                  cache.queries([bare(q) for q in negatives]))
    step("Stichwortsuche aufbauen", 0.8)
    lexical = bm25s.BM25()
    lexical.index([analyze(r.lexical_text()) for r in records], show_progress=False)
    manifest = Manifest(
        model=embedder.name, dimension=embedder.dimension, count=len(records),
        corpus_hash=corpus.content_hash(), created=utc_now(), package_version=package_version(),
        query_prefix=embedder.query_prefix, passage_prefix=embedder.passage_prefix, tuned=embedder.tuned,
        detector_negatives=len(negatives) if detector is not None else 0,
    )
    taxonomy = {
        "space_types": corpus.taxonomy.space_types, "themes": corpus.taxonomy.themes,
        "raumwirkungen": corpus.taxonomy.raumwirkungen, "status": corpus.taxonomy.status,
        "programs": corpus.taxonomy.programs,
    }
    step("Stand schreiben und prüfen", 0.9)
    path = write_build(index_dir, [r.to_dict() for r in records], taxonomy, vectors, challenge_vectors, lexical, manifest,
                       detector)
    return BuildResult(path, manifest, corpus, encoded=cache.encoded)
