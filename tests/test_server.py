"""A real HTTP server: `atlas serve` in its own process, asked over the loopback interface."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from indexer.build import BuildResult
from tests.serving import running_server


@pytest.fixture(scope="module")
def server(built_index: BuildResult) -> Iterator[str]:
    with running_server({"ATLAS_INDEX_DIR": str(built_index.path.parent.parent)}) as url:
        yield url


def test_server_answers_over_http(server: str) -> None:
    health = httpx.get(f"{server}/api/health", timeout=10).json()
    assert health["solutions"] == 10
    response = httpx.post(f"{server}/api/search", json={"query": "Leerstand in der Fußgängerzone"}, timeout=30)
    assert response.status_code == 200 and response.json()["results"]
    page = httpx.get(f"{server}/", timeout=10)
    assert page.status_code == 200 and "Atlas-Lotse" in page.text
    bad = httpx.post(f"{server}/api/search", json={"query": " "}, timeout=10)
    assert bad.status_code == 422 and bad.json()["ok"] is False
