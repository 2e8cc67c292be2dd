"""The app factory: settings really take effect, and a mismatched index is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer.build import BuildResult
from service.app import create_app
from service.config import Settings
from service.errors import IndexMismatchError


def test_settings_override_takes_effect(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"default_limit": 2}))
    with TestClient(app) as client:
        assert len(client.post("/api/search", json={"query": "Leerstand"}).json()["results"]) == 2


def test_settings_come_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ATLAS_INDEX_DIR", str(tmp_path))
    monkeypatch.setenv("ATLAS_MAX_LIMIT", "7")
    loaded = Settings()
    assert loaded.index_dir == tmp_path and loaded.max_limit == 7


def test_blank_model_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="ATLAS_EMBEDDING_MODEL"):
        Settings(embedding_model="  ")


def test_index_built_with_another_model_is_refused(tmp_path: Path, built_index: BuildResult, settings: Settings) -> None:
    index_dir = tmp_path / "index"
    copy = index_dir / "builds" / "b1"
    shutil.copytree(built_index.path, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["model"] = "intfloat/multilingual-e5-large"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (index_dir / "current").symlink_to(Path("builds") / "b1")
    app = create_app(settings.model_copy(update={"index_dir": index_dir}))
    with pytest.raises(IndexMismatchError, match="multilingual-e5-large"), TestClient(app):
        pass


def test_a_loaded_service_runs_blas_on_one_thread(settings: Settings) -> None:
    """NumPy's, SciPy's and FAISS's OpenBLAS on one thread once the service has loaded (their idle threads otherwise
    spin and slow the next forward pass 2.5-fold on 2 cores; see service.app.one_blas_thread and make bench)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from service.app import load_state

    with threadpool_limits(limits=2, user_api="blas"):  # as a fresh process starts on this machine
        load_state(settings)
        blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas and all(pool["num_threads"] == 1 for pool in blas), blas
