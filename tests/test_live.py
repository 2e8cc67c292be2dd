"""A damaged index build never serves: the old build keeps answering, the failure is logged once and not retried.

Each test publishes a damaged copy of a real build (built once per session) next to a good one, the way a broken
`atlas index` run or a hand-edited folder would, and asks the live service to switch to it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from indexer.build import BuildResult
from service.app import LiveIndex, create_app, load_state
from service.config import Settings
from tests.conftest import CACHE_DIR, FIXTURES


def _json(path: Path, change: Callable[[object], object]) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text(encoding="utf-8"))), ensure_ascii=False), encoding="utf-8")


def _drop_space_types(records: object) -> object:
    assert isinstance(records, list)
    records[0]["space_types"] = []
    return records


def _wrong_model(manifest: object) -> object:
    assert isinstance(manifest, dict)
    return {**manifest, "model": "some/other-model"}


def _missing_tuned_model(manifest: object) -> object:
    assert isinstance(manifest, dict)
    return {**manifest, "tuned": "0000000000000000"}


DAMAGE: dict[str, Callable[[Path], None]] = {
    "missing records file": lambda b: (b / "records.json").unlink(),
    "missing vectors file": lambda b: (b / "index.faiss").unlink(),
    "records of the wrong shape": lambda b: _json(b / "records.json", lambda r: {"records": r}),
    "one record too few": lambda b: _json(b / "records.json", lambda r: r[:-1]),  # type: ignore[index]
    "empty taxonomy": lambda b: _json(b / "taxonomy.json", lambda t: {}),
    "record without space types": lambda b: _json(b / "records.json", _drop_space_types),
    "challenge vectors of another width": lambda b: np.save(b / "challenges.npy", np.zeros((3, 7), dtype=np.float32)),
    "built with another model": lambda b: _json(b / "manifest.json", _wrong_model),
    "tuned model missing": lambda b: _json(b / "manifest.json", _missing_tuned_model),
    "manifest not JSON": lambda b: (b / "manifest.json").write_text("{not json", encoding="utf-8"),
}


def publish(root: Path, source: Path, name: str) -> Path:
    """Copy a build into ``builds/<name>`` and switch ``current`` to it atomically, as `atlas index` does."""
    build = root / "builds" / name
    shutil.copytree(source, build)
    link = root / f".current-{name}"
    link.symlink_to(Path("builds") / name)
    os.replace(link, root / "current")
    return build


@pytest.fixture
def index_root(built_index: BuildResult, tmp_path: Path) -> Path:
    root = tmp_path / "index"
    (root / "builds").mkdir(parents=True)
    publish(root, built_index.path, "a-good")
    return root


def live_index(root: Path) -> LiveIndex:
    settings = Settings(index_dir=root, corpus_dir=FIXTURES / "corpus", cache_dir=CACHE_DIR, min_fit=0.0, reload_interval=0)
    live = load_state(settings)["live"].live
    assert live is not None
    return live


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_build_is_never_served(damage: str, index_root: Path, built_index: BuildResult,
                                         caplog: pytest.LogCaptureFixture) -> None:
    live = live_index(index_root)
    good = live.current().build
    damaged = publish(index_root, built_index.path, "b-damaged")
    DAMAGE[damage](damaged)
    with caplog.at_level(logging.ERROR, logger="service.app"):
        for _ in range(3):
            served = live.current()
            assert served.build == good
            assert served.searcher.search("Leerstand in der Innenstadt", limit=3).hits  # still answering
    failures = [r for r in caplog.records if "event=build_failed" in r.getMessage()]
    assert len(failures) == 1 and "build=b-damaged" in failures[0].getMessage()  # logged once, not retried
    fixed = publish(index_root, built_index.path, "c-fixed")  # a newer good build is picked up
    assert live.current().build == fixed


def test_over_http_the_old_build_keeps_answering(index_root: Path, built_index: BuildResult) -> None:
    settings = Settings(index_dir=index_root, corpus_dir=FIXTURES / "corpus", cache_dir=CACHE_DIR, min_fit=0.0,
                        reload_interval=0)
    with TestClient(create_app(settings)) as client:
        damaged = publish(index_root, built_index.path, "b-damaged")
        DAMAGE["record without space types"](damaged)
        for _ in range(3):
            health = client.get("/api/health")
            assert health.status_code == 200 and health.json()["index_build"] == "a-good"
            assert client.get("/api/ready").json()["index_build"] == "a-good"
            assert client.post("/api/search", json={"query": "Leerstand"}).status_code == 200
