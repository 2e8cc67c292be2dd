"""Start `atlas serve` in its own process on 127.0.0.1 for tests that need a real HTTP server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerFailed(RuntimeError):
    """The server exited or did not become ready; the message carries its output."""


@contextmanager
def running_process(env: dict[str, str], port: int | None = None, atlas: list[str] | None = None,
                    cwd: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Yield the base URL and the process once /api/ready answers 200; the process is stopped afterwards, whatever
    happens. The one server-starting helper for tests and scripts (bench, heldout).

    ``atlas`` is the command that runs the CLI (default: this interpreter's ``-m service.cli``).

    Raises:
        ServerFailed: if the server exits early or is not ready within START_TIMEOUT seconds.
    """
    port = port or free_port()
    process = subprocess.Popen(
        [*(atlas or [sys.executable, "-m", "service.cli"]), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            if process.poll() is not None:
                raise ServerFailed(f"server exited early:\n{process.stdout.read() if process.stdout else ''}")
            try:
                if httpx.get(f"{url}/api/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServerFailed(f"server did not become ready within {START_TIMEOUT} s")
            time.sleep(0.3)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def running_server(env: dict[str, str], port: int | None = None, atlas: list[str] | None = None,
                   cwd: Path | None = None) -> Iterator[str]:
    """Yield the base URL once /api/ready answers 200 (see running_process)."""
    with running_process(env, port, atlas, cwd) as (url, _):
        yield url
