"""Build an index artifact from a corpus folder."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from indexer.artifact import Manifest, package_version, utc_now, write_build
from indexer.corpus import Corpus, Problem, Record
from indexer.domain import load_negatives, train_detector
from indexer.embedding import Embedder
from indexer.text import analyze


class CorpusInvalidError(Exception):
    """The corpus has errors; nothing was indexed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} Fehler im Korpus – der Index wurde nicht verändert.")
        self.problems = problems


def _cached_queries(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Query vectors for texts that rarely change (the atlas's own records, the off-topic list), cached per model."""
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    key = hashlib.sha256(json.dumps([embedder.name, embedder.tuned, embedder.query_prefix, texts], ensure_ascii=False).encode())
    path = embedder.cache_dir / "vectors" / f"{key.hexdigest()[:24]}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        if cached.shape == (len(texts), embedder.dimension):
            return cached
    vectors = embedder.encode_queries(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors


@dataclass
class BuildResult:
    path: Path
    manifest: Manifest
    corpus: Corpus


def build_index(corpus: Corpus, index_dir: Path, embedder: Embedder, progress: bool = False,
                background: list[Record] | tuple[Record, ...] = ()) -> BuildResult:
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
    records = sorted(corpus.records, key=lambda r: r.id)
    vectors = embedder.encode_passages([r.passage() for r in records], progress=progress)
    phrases = [c for r in records for c in r.challenges]
    if phrases:
        challenge_vectors = embedder.encode_queries(phrases, progress=progress)
    else:
        challenge_vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
    negatives = load_negatives()
    detector = None
    if negatives:
        # Planning questions come as challenges, as solution names and as short descriptions; the detector
        # learns all three as "answerable here" (challenges alone made it refuse keyword questions).
        own = {r.id for r in records}
        heads = embedder.encode_queries([t for r in records for t in (r.title, r.summary)], progress=progress)
        extra = _cached_queries(embedder, [t for r in background if r.id not in own for t in (r.title, r.summary, *r.challenges)])
        detector = train_detector(np.concatenate([challenge_vectors, heads, extra]), _cached_queries(embedder, negatives))
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
    path = write_build(index_dir, [r.to_dict() for r in records], taxonomy, vectors, challenge_vectors, lexical, manifest,
                       detector)
    return BuildResult(path, manifest, corpus)
