"""The query batcher: the same vectors as encoding alone, shared batches under concurrency, errors and shutdown."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from indexer.embedding import Embedder
from service.batching import QueryBatcher
from service.errors import ServiceBusyError

QUESTIONS = [f"Leerstand in der Innenstadt Nummer {n}" for n in range(24)] + ["Hitze im Quartier", "Parken im Gewerbegebiet"]


def test_vectors_equal_encoding_alone_and_concurrent_requests_share_batches(embedder: Embedder) -> None:
    batcher = QueryBatcher(embedder, max_wait_ms=20)
    alone = embedder.encode_queries(QUESTIONS)
    with ThreadPoolExecutor(max_workers=16) as pool:
        vectors = list(pool.map(lambda q: batcher.encode_queries([q])[0], QUESTIONS))
    assert np.allclose(np.vstack(vectors), alone, atol=1e-5)
    assert max(batcher.batch_sizes) > 1  # some requests were encoded together
    assert sum(size * count for size, count in batcher.batch_sizes.items()) == len(QUESTIONS)
    batcher.close()


def test_errors_reach_every_waiting_request_and_the_worker_survives(embedder: Embedder) -> None:
    class Broken:
        dimension = embedder.dimension
        calls = 0

        def encode_queries(self, texts: list[str]) -> np.ndarray:
            Broken.calls += 1
            if Broken.calls == 1:
                raise RuntimeError("kaputt")
            return embedder.encode_queries(texts)

    batcher = QueryBatcher(Broken())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="kaputt"):
        batcher.encode_queries(["eins"])
    assert batcher.encode_queries(["zwei"]).shape == (1, embedder.dimension)
    batcher.close()


def test_a_full_queue_is_a_busy_error_and_a_closed_batcher_still_answers(embedder: Embedder) -> None:
    gate = threading.Event()

    class Slow:
        dimension = embedder.dimension

        def encode_queries(self, texts: list[str]) -> np.ndarray:
            gate.wait(10)
            return embedder.encode_queries(texts)

    batcher = QueryBatcher(Slow(), max_queue=2)  # type: ignore[arg-type]
    with ThreadPoolExecutor(max_workers=4) as pool:
        waiting = [pool.submit(batcher.encode_queries, ["Frage 0"])]
        threading.Event().wait(0.3)  # the worker is busy with the first
        waiting += [pool.submit(batcher.encode_queries, [f"Frage {n}"]) for n in (1, 2)]
        threading.Event().wait(0.3)  # two wait in the queue, which is now full
        with pytest.raises(ServiceBusyError):
            batcher.encode_queries(["eine zu viel"])
        gate.set()
        assert all(f.result(timeout=30).shape == (1, embedder.dimension) for f in waiting)
    batcher.close()
    threading.Event().wait(0.2)
    assert batcher.encode_queries(["nach dem Schließen"]).shape == (1, embedder.dimension)


def test_recent_vectors_are_kept_so_a_text_is_encoded_once(embedder: Embedder) -> None:
    batcher = QueryBatcher(embedder, cache_size=3)
    first = batcher.encode_queries(["Leerstand", "Hitze"])
    again = batcher.encode_queries(["Hitze", "Leerstand", "Hitze"])  # from the cache, in the order asked
    assert np.array_equal(again, first[[1, 0, 1]])
    assert sum(batcher.batch_sizes.values()) == 1  # one forward pass for both calls
    again[0] += 1.0  # a caller changing its copy changes nothing kept
    assert np.array_equal(batcher.encode_queries(["Hitze"])[0], first[1])
    batcher.encode_queries(["Parken", "Lärm"])  # the least recently used text ("Leerstand") makes room
    assert sum(batcher.batch_sizes.values()) == 2
    batcher.encode_queries(["Leerstand"])
    assert sum(batcher.batch_sizes.values()) == 3  # encoded again
    assert np.allclose(batcher.encode_queries(["Parken"])[0], embedder.encode_queries(["Parken"])[0], atol=1e-5)
    batcher.close()
