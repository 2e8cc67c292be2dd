"""The documented deployment: nginx (Debian's package, deploy/nginx-atlas.conf) in front of two `atlas serve`
replicas over one index folder, while `atlas index` publishes a new build under load."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx

from indexer.build import BuildResult
from tests.conftest import CACHE_DIR, FIXTURES
from tests.serving import running_process
from tests.system import running_nginx

ROOT = Path(__file__).resolve().parents[1]
# Both replicas must reach the new build (a liveness bound, not a speed target: how fast a replica swaps is measured
# side by side in `python -m scripts.bench`; in CI on 2 shared cores under this load it took 5.6–10.0 s).
SWITCH_WITHIN_S = 60
QUESTIONS = ["Leerstand in der Fußgängerzone", "Paketdienste in engen Wohnstraßen", "Parkplatzsuche in der Altstadt",
             "Hitze im Quartier", "Lärm in der Innenstadt am Abend"]


def site_for(ports: list[int]) -> str:
    """deploy/nginx-atlas.conf with the test's replica ports (the listen port is filled in by running_nginx)."""
    site = (ROOT / "deploy" / "nginx-atlas.conf").read_text(encoding="utf-8")
    for placeholder, port in zip(("127.0.0.1:8001", "127.0.0.1:8002"), ports, strict=True):
        assert placeholder in site
        site = site.replace(placeholder, f"127.0.0.1:{port}")
    assert "listen 127.0.0.1:8080;" in site
    return site.replace("listen 127.0.0.1:8080;", "listen 127.0.0.1:{port};")


def build_of(url: str) -> str:
    return str(httpx.get(f"{url}/api/health", timeout=5).json()["index_build"])


def test_two_replicas_behind_nginx_switch_to_a_new_build_under_load_without_a_failed_request(
        built_index: BuildResult, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built_index.path.parent.parent, index_dir, symlinks=True)
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", corpus)
    env = {**os.environ, "ATLAS_INDEX_DIR": str(index_dir), "ATLAS_CACHE_DIR": str(CACHE_DIR), "ATLAS_MIN_FIT": "0"}
    with ExitStack() as stack:
        replicas = [stack.enter_context(running_process(env))[0] for _ in range(2)]
        old = build_of(replicas[0])
        assert build_of(replicas[1]) == old
        port = stack.enter_context(running_nginx(site_for([int(url.rsplit(":", 1)[1]) for url in replicas])))
        front = f"http://127.0.0.1:{port}"

        outcomes: Counter[str] = Counter()
        failures: list[str] = []
        stop = threading.Event()

        def load(worker: int) -> None:
            with httpx.Client(base_url=front, timeout=30) as client:
                n = worker
                while not stop.is_set():
                    try:
                        response = client.post("/api/search", json={"query": QUESTIONS[n % len(QUESTIONS)]})
                        ok = response.status_code == 200 and bool(response.json()["results"])
                        outcomes["ok" if ok else "failed"] += 1
                        if not ok:
                            failures.append(f"{response.status_code} {response.text[:200]}")
                    except httpx.HTTPError as exc:
                        outcomes["failed"] += 1
                        failures.append(repr(exc))
                    n += 1

        workers = [threading.Thread(target=load, args=(k,)) for k in range(4)]
        for worker in workers:
            worker.start()
        try:
            time.sleep(2)  # load before the publish
            record = corpus / "solutions" / "einbeck-leerstandsmanagement.md"
            record.write_text(record.read_text(encoding="utf-8").replace("\ntitle: ", "\ntitle: Neu – ", 1), encoding="utf-8")
            published = subprocess.run(
                [sys.executable, "-m", "service.cli", "index", "--corpus", str(corpus), "--index", str(index_dir)],
                env={**env, "ATLAS_TUNE": "false"}, capture_output=True, text=True, timeout=600, check=False)
            at = time.monotonic()
            assert published.returncode == 0, published.stderr[-2000:]
            new = os.readlink(index_dir / "current").rsplit("/", 1)[-1]
            assert new != old
            switched: dict[str, float] = {}
            while len(switched) < 2 and time.monotonic() - at < SWITCH_WITHIN_S:
                for url in replicas:
                    if url not in switched and build_of(url) == new:
                        switched[url] = time.monotonic() - at
                time.sleep(0.1)
            time.sleep(1)  # load after the switch as well
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=60)
        print(f"requests through nginx: {dict(outcomes)}; seconds to the new build per replica: "
              f"{sorted(round(s, 1) for s in switched.values())}")
        assert len(switched) == 2, switched
        assert outcomes["failed"] == 0, failures[:5]
        assert outcomes["ok"] >= 20
        titles = {httpx.post(f"{front}/api/search", json={"query": QUESTIONS[0]}, timeout=30).json()["results"][0]["title"]
                  for _ in range(4)}  # round robin: both replicas answer from the new build
        assert titles == {next(t for t in titles)} and any(t.startswith("Neu – ") for t in titles), titles
        page = httpx.get(f"{front}/karte", headers={"Accept-Encoding": "gzip"}, timeout=30)
        assert page.status_code == 200 and page.headers["content-encoding"] == "gzip" and "<svg" in page.text
