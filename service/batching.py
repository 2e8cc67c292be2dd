"""Dynamic micro-batching of query encodings (the idea of text-embeddings-inference's and Triton's batchers).

Requests run in many threads, but the model runs in one: each request hands its texts to a bounded queue and waits;
the worker takes what is queued – waiting at most ``max_wait_ms`` for more once it has something – and encodes it in
one call. Concurrent requests share a forward pass instead of fighting over the CPU cores, and only one thread ever
touches the model and its tokenizer.

The vectors of recent texts are kept (an LRU of ``cache_size`` texts, about 1.5 kB each): a chat turn that searches
its topic again ("mehr", "nur verstetigte", a space type) or a text the turn classifier has just encoded costs no
second forward pass.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from indexer.embedding import Embedder
from service.errors import ServiceBusyError

log = logging.getLogger(__name__)


@dataclass
class _Job:
    texts: list[str]
    future: Future[np.ndarray] = field(default_factory=Future)


class QueryBatcher:
    """Encodes queries for many threads in shared batches; same vectors as ``embedder.encode_queries``."""

    def __init__(self, embedder: Embedder, max_batch: int = 32, max_wait_ms: float = 3.0, max_queue: int = 512,
                 on_batch: Callable[[int], None] | None = None, cache_size: int = 2048) -> None:
        self.embedder = embedder
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.on_batch = on_batch  # e.g. the batch-size histogram of the metrics
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queue)
        self.batch_sizes: Counter[int] = Counter()  # texts per encode call, for the benchmark and metrics
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="atlas-encoder", daemon=True)
        self._thread.start()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for the texts (query prefix), encoded together with whatever else is waiting.

        Raises:
            ServiceBusyError: if the queue is full (the service is overloaded; the client should retry).
        """
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        with self._cache_lock:
            known = {t: v for t in texts if (v := self._cache.get(t)) is not None}
            for text in known:
                self._cache.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            vectors = self._encode_now(missing)
            with self._cache_lock:
                for text, vector in zip(missing, vectors, strict=True):
                    known[text] = vector
                    self._cache[text] = vector.copy()  # not a view: the batch's array need not stay alive
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return np.stack([known[t] for t in texts])

    def _encode_now(self, texts: list[str]) -> np.ndarray:
        job = _Job(texts)
        with self._lock:
            if self._closed:  # a request that still holds a swapped-out build: encode it here
                return self.embedder.encode_queries(job.texts)
            try:
                self._queue.put_nowait(job)
            except queue.Full as exc:
                raise ServiceBusyError("busy") from exc
        return job.future.result()

    def close(self) -> None:
        """Stop the worker after the jobs already queued (a swapped-out build's batcher)."""
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                with self._lock:
                    self._closed = True  # from now on no job is queued; finish those that are
                while True:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        return
                    if job is not None:
                        self._encode([job])
            jobs, size = [first], len(first.texts)
            deadline = time.monotonic() + self.max_wait
            while size < self.max_batch:
                try:
                    job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if job is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                jobs.append(job)
                size += len(job.texts)
            self._encode(jobs)

    def _encode(self, jobs: list[_Job]) -> None:
        texts = [text for job in jobs for text in job.texts]
        try:
            vectors = self.embedder.encode_queries(texts)
        except Exception as exc:  # noqa: BLE001 - every waiting request gets the error, the worker keeps running
            for job in jobs:
                job.future.set_exception(exc)
            return
        self.batch_sizes[len(texts)] += 1
        if self.on_batch is not None:
            self.on_batch(len(texts))
        start = 0
        for job in jobs:
            job.future.set_result(vectors[start : start + len(job.texts)])
            start += len(job.texts)
