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


def test_large_bodies_get_413_before_they_are_read(server: str) -> None:
    one_mb = '{"query": "' + "Leerstand " * 100_000 + '"}'
    response = httpx.post(f"{server}/api/search", content=one_mb, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413 and response.json()["error"].startswith("Die Anfrage ist zu groß")

    def chunks():  # no Content-Length: the limit counts the streamed bytes
        yield b'{"query": "'
        for _ in range(80):
            yield b" " * 65536  # 5 MB of whitespace
        yield b'"}'

    streamed = httpx.post(f"{server}/api/chat", content=chunks(), headers={"Content-Type": "application/json"}, timeout=30)
    assert streamed.status_code == 413 and streamed.json()["status"] == 413
    assert httpx.get(f"{server}/api/health", timeout=10).status_code == 200  # the server is still fine


def test_head_works_where_get_does_and_405_names_the_allowed_methods(server: str) -> None:
    for path in ("/", "/api/health", "/api/ready", "/static/chat.js"):
        get, head = httpx.get(server + path, timeout=10), httpx.head(server + path, timeout=10)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"], path
    wrong = httpx.delete(f"{server}/api/search", timeout=10)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.json()["error"] == "Diese Methode ist hier nicht erlaubt."


def test_readiness_says_503_while_loading_and_liveness_answers_at_once(built_index: BuildResult) -> None:
    import os
    import subprocess
    import sys
    import time

    from tests.serving import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ATLAS_INDEX_DIR": str(built_index.path.parent.parent)}
    process = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: list[tuple[str, int]] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"{url}/api/health", timeout=2)
                ready = httpx.get(f"{url}/api/ready", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.05)
                continue
            seen.append((health.json()["status"], ready.status_code))
            if ready.status_code == 200:
                break
            assert ready.status_code == 503 and "startet gerade" in ready.json()["error"]
            assert ready.headers["retry-after"] == "5"
            search = httpx.post(f"{url}/api/search", json={"query": "Leerstand"}, timeout=5)
            # loading may finish between the two requests; then the service must say so as well
            assert search.status_code == 503 or httpx.get(f"{url}/api/ready", timeout=2).status_code == 200
            time.sleep(0.05)
        assert seen[0] == ("starting", 503), seen[:3]  # it answered before the model was loaded
        assert seen[-1][1] == 200  # (health may still have said "starting" a moment before ready said 200)
        assert httpx.get(f"{url}/api/health", timeout=5).json()["status"] == "ok"
        assert httpx.get(f"{url}/api/ready", timeout=5).json()["index_build"] == built_index.path.name
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_client_that_never_finishes_its_headers_is_disconnected(built_index: BuildResult) -> None:
    import socket
    import time

    env = {"ATLAS_INDEX_DIR": str(built_index.path.parent.parent), "ATLAS_HEADER_TIMEOUT": "2"}
    with running_server(env) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the blank line never comes
            slow.settimeout(15)
            started = time.monotonic()
            assert slow.recv(100) == b""  # closed by the server
            assert time.monotonic() - started < 6
        with socket.create_connection(("127.0.0.1", port)) as patient:  # a complete request is answered as usual
            patient.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            patient.settimeout(15)
            assert patient.recv(100).startswith(b"HTTP/1.1 200")
