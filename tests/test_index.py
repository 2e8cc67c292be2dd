"""The index artifact: exact search, self-description, atomic publication."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.artifact import CURRENT, KEEP_BUILDS, IndexCorruptError, IndexNotFoundError, load_build, load_current
from indexer.build import BuildResult, CorpusInvalidError, build_index
from indexer.corpus import load_corpus
from indexer.domain import Detector, bare
from indexer.embedding import Embedder
from service.search import Searcher

QUERIES = [
    "In unserer Fußgängerzone stehen immer mehr Läden leer.",
    "Paketdienste verstopfen die Innenstadt",
    "Hitze und Starkregen im Wohngebiet",
    "schnelles Internet für Betriebe im Gewerbegebiet",
    "Radfahrer sollen öfter grüne Ampeln bekommen",
]


def test_faiss_top_k_equals_exact_numpy_cosine(built_index: BuildResult, embedder: Embedder) -> None:
    artifact = load_current(built_index.path.parent.parent)
    records = load_corpus(built_index.corpus.root).records
    by_id = {r.id: r for r in records}
    passages = embedder.encode_passages([by_id[r["id"]].passage() for r in artifact.records])
    queries = embedder.encode_queries(QUERIES)
    _, faiss_rows = artifact.index.search(queries, 5)
    # Cosine from scratch: unnormalised dot products divided by both norms.
    cosine = (queries @ passages.T) / np.outer(np.linalg.norm(queries, axis=1), np.linalg.norm(passages, axis=1))
    exact_rows = np.argsort(-cosine, axis=1, kind="stable")[:, :5]
    assert faiss_rows.tolist() == exact_rows.tolist()


def test_manifest_describes_the_build(built_index: BuildResult) -> None:
    manifest = json.loads((built_index.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == "bundled:multilingual-e5-small"
    assert manifest["dimension"] == 384 and manifest["count"] == 10
    assert len(manifest["corpus_hash"]) == 64 and manifest["created"].endswith("Z")
    assert manifest["query_prefix"] == "query: " and manifest["passage_prefix"] == "passage: "
    assert manifest["package_version"]
    assert manifest["detector_negatives"] >= 200  # indexer/data/off_topic.txt
    assert (built_index.path / "detector.npz").is_file()
    assert isinstance(faiss.read_index(str(built_index.path / "index.faiss")), faiss.IndexFlatIP)


def test_failed_build_leaves_live_index_untouched(tmp_path: Path, corpus_dir: Path, embedder: Embedder,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    index_dir = tmp_path / "index"
    first = build_index(load_corpus(corpus_dir), index_dir, embedder)

    def explode(*_args: object) -> None:
        raise OSError("Datenträger voll")

    monkeypatch.setattr(faiss, "write_index", explode)
    with pytest.raises(OSError):
        build_index(load_corpus(corpus_dir), index_dir, embedder)
    assert (index_dir / CURRENT).resolve() == first.path
    assert load_current(index_dir).manifest == first.manifest
    assert not [p for p in (index_dir / "builds").iterdir() if p.name.startswith(".")]


def test_invalid_corpus_is_refused_and_index_stays(tmp_path: Path, corpus_dir: Path, embedder: Embedder) -> None:
    index_dir = tmp_path / "index"
    first = build_index(load_corpus(corpus_dir), index_dir, embedder)
    bad = corpus_dir / "solutions" / "ulm-besuchertrend-innenstadt.md"
    bad.write_text(bad.read_text(encoding="utf-8").replace("status: umsetzung", "status: irgendwas"), encoding="utf-8")
    with pytest.raises(CorpusInvalidError) as info:
        build_index(load_corpus(corpus_dir), index_dir, embedder)
    assert any(p.field == "status" for p in info.value.problems)
    assert (index_dir / CURRENT).resolve() == first.path


def test_rebuild_swaps_atomically_and_keeps_the_last_builds_for_rollback(tmp_path: Path, corpus_dir: Path,
                                                                          embedder: Embedder) -> None:
    index_dir = tmp_path / "index"
    corpus = load_corpus(corpus_dir)
    builds = [build_index(corpus, index_dir, embedder).path for _ in range(KEEP_BUILDS + 2)]
    assert (index_dir / CURRENT).resolve() == builds[-1]
    assert sorted(p for p in (index_dir / "builds").iterdir()) == sorted(builds[-KEEP_BUILDS:])


def test_missing_and_corrupt_indexes_are_reported(tmp_path: Path, built_index: BuildResult) -> None:
    with pytest.raises(IndexNotFoundError, match="atlas index"):
        load_current(tmp_path / "nirgends")
    broken = tmp_path / "broken"
    shutil.copytree(built_index.path, broken)
    records = json.loads((broken / "records.json").read_text(encoding="utf-8"))
    (broken / "records.json").write_text(json.dumps(records[:-1]), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="inkonsistent"):
        load_build(broken)
    (broken / "index.faiss").write_bytes(b"kaputt")
    with pytest.raises(IndexCorruptError):
        load_build(broken)


def test_a_damaged_detector_is_reported(tmp_path: Path, built_index: BuildResult) -> None:
    """The "nothing fits" detector is part of the build: cut off, or with weights of another shape, it does not load."""
    cut = tmp_path / "cut"
    shutil.copytree(built_index.path, cut)
    whole = (cut / "detector.npz").read_bytes()
    (cut / "detector.npz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(IndexCorruptError, match="beschädigt"):
        load_build(cut)
    reshaped = tmp_path / "reshaped"
    shutil.copytree(built_index.path, reshaped)
    detector = Detector.load(reshaped / "detector.npz")
    replace(detector, hidden_weights=detector.hidden_weights[:-1]).save(reshaped / "detector.npz")
    with pytest.raises(IndexCorruptError, match="hidden_weights"):
        load_build(reshaped)


def test_running_service_switches_to_a_new_build_without_restart(tmp_path: Path, corpus_dir: Path, embedder: Embedder) -> None:
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.config import Settings

    index_dir = tmp_path / "index"
    first = build_index(load_corpus(corpus_dir), index_dir, embedder)
    settings = Settings(index_dir=index_dir, reload_interval=0, min_fit=0.0)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/health").json()["index_build"] == first.path.name
        (corpus_dir / "solutions" / "ulm-besuchertrend-innenstadt.md").unlink()
        second = build_index(load_corpus(corpus_dir), index_dir, embedder)
        health = client.get("/api/health").json()
        assert health["index_build"] == second.path.name and health["solutions"] == 9
        assert client.get("/api/solutions/ulm-besuchertrend-innenstadt").status_code == 404
        # A broken build behind `current` is not served: the last good one keeps answering.
        broken = index_dir / "builds" / "kaputt"
        shutil.copytree(second.path, broken)
        (broken / "records.json").write_text("[]", encoding="utf-8")
        (index_dir / "current").unlink()
        (index_dir / "current").symlink_to(Path("builds") / "kaputt")
        health = client.get("/api/health").json()
        assert health["index_build"] == second.path.name
        assert client.post("/api/search", json={"query": "Leerstand"}).status_code == 200


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_bare_takes_off_only_closing_punctuation(text: str) -> None:
    read = bare(text)
    assert text.startswith(read) and bare(read) == read
    rest = text[len(read):]
    assert all(c in "?!.… \t\n\r\x0b\x0c" or c.isspace() for c in rest)  # only closing punctuation and spaces go


def test_the_detector_reads_a_question_without_its_closing_punctuation(built_index: BuildResult, embedder: Embedder) -> None:
    """Its negatives are questions and its positives are not, so with the "?" it learned that a question mark means
    off topic ("rufbus?" was refused, "Rufbus" answered). The ranking still reads the question as written."""
    assert bare("Rufbus?") == "Rufbus" and bare("Wie geht das?! ") == "Wie geht das" and bare("?") == "?"
    searcher = Searcher(embedder, load_current(built_index.path.parent.parent))
    asked, plain = searcher.components("Leerstand in der Innenstadt?", []), searcher.components("Leerstand in der Innenstadt", [])
    assert asked.on_topic == pytest.approx(plain.on_topic, abs=1e-6)
    assert not np.allclose(asked.vector, plain.vector)
