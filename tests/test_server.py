"""A real HTTP server: `atlas serve` in its own process, asked over the loopback interface."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from indexer.build import BuildResult


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(built_index: BuildResult) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "ATLAS_INDEX_DIR": str(built_index.path.parent.parent)}
    process = subprocess.Popen(
        [sys.executable, "-m", "indexer.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"server exited early:\n{process.stdout.read() if process.stdout else ''}")
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("server did not become healthy within 120 s")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_server_answers_over_http(server: str) -> None:
    health = httpx.get(f"{server}/api/health", timeout=10).json()
    assert health["solutions"] == 10
    response = httpx.post(f"{server}/api/search", json={"query": "Leerstand in der Fußgängerzone"}, timeout=30)
    assert response.status_code == 200 and response.json()["results"]
    page = httpx.get(f"{server}/", timeout=10)
    assert page.status_code == 200 and "Atlas-Lotse" in page.text
    bad = httpx.post(f"{server}/api/search", json={"query": " "}, timeout=10)
    assert bad.status_code == 422 and bad.json()["ok"] is False
