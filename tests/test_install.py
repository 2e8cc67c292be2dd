"""Operators install a package, not a checkout: a wheel in a fresh virtualenv indexes and serves from another folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import CACHE_DIR, ROOT
from tests.serving import running_server

pytestmark = pytest.mark.slow


def run(command: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env={**os.environ, **(env or {})},
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def test_installed_package_indexes_and_serves_outside_the_checkout(tmp_path: Path, corpus_index: object) -> None:
    # corpus_index: the model tuned on this corpus is then in the shared cache, so the install does not train again.
    venv, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    run([sys.executable, "-m", "venv", venv], cwd=elsewhere)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "torch==2.13.0"], cwd=elsewhere)  # the CPU build, pinned before the project as the README says
    run([*pip, ROOT], cwd=elsewhere)  # a regular (not editable) install of this checkout
    corpus = shutil.copytree(ROOT / "corpus", tmp_path / "atlas")
    # No PYTHONPATH and another working directory: nothing may come from the checkout.
    env = {"ATLAS_CACHE_DIR": str(CACHE_DIR), "ATLAS_INDEX_DIR": str(tmp_path / "index"), "PYTHONPATH": ""}
    atlas = str(venv / "bin" / "atlas")
    run([atlas, "index", "--corpus", corpus], cwd=elsewhere, env=env)
    with running_server(env, atlas=[atlas], cwd=elsewhere) as url:
        page = httpx.get(f"{url}/", timeout=30)
        assert page.status_code == 200 and "automatischen Assistenten" in page.text
        assert httpx.get(f"{url}/static/chat.js", timeout=30).status_code == 200
        docs = httpx.get(f"{url}/docs", timeout=30)
        assert docs.status_code == 200 and "/swagger/swagger-ui-bundle.js" in docs.text
        assert httpx.get(f"{url}/swagger/swagger-ui-bundle.js", timeout=30).status_code == 200
        everyday = httpx.post(f"{url}/api/search", json={"query": "Wie koche ich eine Tomatensuppe?"}, timeout=30).json()
        assert everyday["no_match"] is True and everyday["results"] == []
        planning = httpx.post(f"{url}/api/search", json={"query": "In unserer Fußgängerzone stehen immer mehr Läden leer."},
                              timeout=30).json()
        assert planning["no_match"] is False and planning["results"]
