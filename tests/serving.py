"""Real HTTP servers on 127.0.0.1 for tests: `atlas serve` in its own process (what operators run), or an app object
served by uvicorn in a thread of the test's process (for a test that shortens what the server runs, such as tuning)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerFailed(RuntimeError):
    """The server exited or did not become ready; the message carries its output."""


def wait_until_ready(url: str, failure: Callable[[], str | None]) -> None:
    """Return once ``url``/api/ready answers 200.

    Raises:
        ServerFailed: with ``failure()``'s message as soon as it gives one, or after START_TIMEOUT seconds.
    """
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if message := failure():
            raise ServerFailed(message)
        try:
            if httpx.get(f"{url}/api/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise ServerFailed(f"server did not become ready within {START_TIMEOUT} s")
        time.sleep(0.3)


@contextmanager
def running_process(env: dict[str, str], port: int | None = None, atlas: list[str] | None = None,
                    cwd: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Yield the base URL and the process once /api/ready answers 200; the process is stopped afterwards, whatever
    happens. The server of tests and scripts (bench, heldout) unless a test must patch what the server runs
    (``running_app``).

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
    try:
        wait_until_ready(url, lambda: None if process.poll() is None else
                         f"server exited early:\n{process.stdout.read() if process.stdout else ''}")
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


@contextmanager
def running_app(app: Any) -> Iterator[str]:
    """Serve ``app`` (an ASGI app, e.g. ``create_app(settings)``) with uvicorn in a thread of this process; yield the
    base URL once /api/ready answers 200; stop it afterwards.

    Raises:
        ServerFailed: if the server thread ends early or is not ready within START_TIMEOUT seconds.
    """
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True, name="test-uvicorn")
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, lambda: None if thread.is_alive() else "server thread ended early (see the log above)")
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=60)
