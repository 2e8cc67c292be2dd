"""atlas tune: deterministic, keyed by its inputs, and the tuned model serves through the normal path."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer.build import build_index
from indexer.corpus import load_corpus
from indexer.embedding import BUNDLED_MODEL, TUNED_PREFIX, Embedder, resolve_model_path
from indexer.tune import TuneSettings, _batches, training_key, training_pairs, tune, variant
from service.app import create_app
from service.config import Settings
from tests.conftest import CACHE_DIR

FIXTURE = Path(__file__).parent / "fixtures" / "corpus"
FAST = TuneSettings(max_seq_length=64, seed=7)


def weights_digest(path: Path) -> str:
    return hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()


def test_pairs_and_key_depend_only_on_inputs() -> None:
    records = load_corpus(FIXTURE).records
    pairs = training_pairs(records, FAST)
    assert pairs == training_pairs(list(reversed(records)), FAST)
    assert len(pairs) > sum(len(r.challenges) for r in records)  # noisy variants were added
    assert training_key(BUNDLED_MODEL, pairs, FAST) == training_key(BUNDLED_MODEL, training_pairs(records, FAST), FAST)
    assert training_key(BUNDLED_MODEL, pairs, FAST) != training_key(BUNDLED_MODEL, pairs[1:], FAST)
    for batch in _batches(pairs, 16, random.Random(1)):
        assert len({rid for rid, _, _ in batch}) == len(batch)  # no record twice in a batch


def test_variants_are_the_kinds_planners_type() -> None:
    rng = random.Random(3)
    seen = {variant("Überflutung der Fußgängerzone nach Starkregen", rng) for _ in range(30)}
    assert any("ue" in v or "Uberflutung" in v for v in seen)  # umlauts written out or dropped
    assert any(" Zone" in v or "-Zone" in v or "Starkregen" not in v for v in seen)  # split compound or typo


@pytest.mark.slow
def test_tuning_is_deterministic_and_the_tuned_index_serves(tmp_path: Path) -> None:
    records = load_corpus(FIXTURE).records
    base = resolve_model_path(BUNDLED_MODEL, CACHE_DIR)
    first = tune(base, BUNDLED_MODEL, records, tmp_path / "a", "query: ", "passage: ", FAST, progress=False)
    second = tune(base, BUNDLED_MODEL, records, tmp_path / "b", "query: ", "passage: ", FAST, progress=False)
    assert first.name == second.name
    assert weights_digest(first) == weights_digest(second)
    info = json.loads((first / "atlas_tuning.json").read_text(encoding="utf-8"))
    assert info["records"] == 10 and 0 < info["steps"] <= FAST.max_steps and info["seconds"] > 0
    assert info["last_loss"] < info["first_loss"]  # it learned something
    capped = TuneSettings(max_steps=2)
    short = tune(base, BUNDLED_MODEL, records, tmp_path / "c", "query: ", "passage: ", capped, progress=False)
    assert json.loads((short / "atlas_tuning.json").read_text(encoding="utf-8"))["steps"] == 2
    key = first.name.removeprefix(TUNED_PREFIX)
    embedder = Embedder(BUNDLED_MODEL, tmp_path / "a", tuned=key)
    result = build_index(load_corpus(FIXTURE), tmp_path / "index", embedder)
    assert result.manifest.tuned == key
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "a", min_fit=0.0)
    with TestClient(create_app(settings)) as client:
        health = client.get("/api/health").json()
        assert health["solutions"] == 10 and health["tuned"] == key
        hits = client.post("/api/search", json={"query": "Leerstand in der Fußgängerzone"}).json()["results"]
        assert hits
    missing = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "leer")
    with pytest.raises(Exception, match="angepasste Modell"), TestClient(create_app(missing)):
        pass


def test_a_small_corpus_is_tuned_with_the_atlas_as_background() -> None:
    records = load_corpus(FIXTURE).records
    own = training_pairs(records, FAST)
    background = load_corpus(Path(__file__).parent.parent / "corpus").records
    pairs = training_pairs(records, FAST, background)
    assert pairs[: len(own)] == own  # the corpus's own pairs always come first, unchanged
    assert len(pairs) == (FAST.max_steps or 0) * FAST.batch_size  # the unused budget is filled from the atlas
    assert {rid for rid, _, _ in pairs[len(own):]} <= {r.id for r in background} - {r.id for r in records}
    assert pairs == training_pairs(records, FAST, background)  # deterministic for a seed
    # A corpus that fills the budget by itself, or is the atlas itself, trains exactly as without background.
    assert training_pairs(background, FAST, background) == training_pairs(background, FAST)
