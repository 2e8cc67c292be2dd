"""The application factory: configuration in, a ready FastAPI app out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypedDict

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from swagger_ui_bundle import swagger_ui_path
from threadpoolctl import threadpool_limits

from indexer.artifact import (
    Artifact,
    IndexNotFoundError,
    Manifest,
    current_build,
    load_build,
    load_current,
    package_version,
)
from indexer.embedding import Embedder
from service import admin, errors, memory
from service.batching import QueryBatcher
from service.config import Settings
from service.conversation import Conversation
from service.explain import Presenter
from service.feedback import FeedbackStore, FeedbackStoreError
from service.http import BodyLimit, HeadAsGet
from service.intents import IntentClassifier, load_examples
from service.language import SUPPORTED
from service.limits import document_limits
from service.metrics import Metrics, MetricsMiddleware
from service.metrics import router as metrics_router
from service.prompts import Prompts
from service.routes import api, docs, feedback, pages
from service.schemas import ChatRequest
from service.search import Ranking, Searcher
from service.security import install_security

log = logging.getLogger(__name__)


@dataclass
class Served:
    """Everything that answers requests for one index build."""

    build: Path
    searcher: Searcher
    presenter: Presenter
    conversation: Conversation
    batcher: QueryBatcher


class LiveIndex:
    """The index being served; switches to a newer build when `atlas index` publishes one.

    Editors re-index without restarting the service: every ``reload_interval`` seconds a request looks
    at the ``current`` link, and a new build is loaded and swapped in whole. A build that cannot be
    loaded, set up or answer a test question is logged once and never retried (until a newer build appears), and
    the old one keeps serving.
    """

    def __init__(self, settings: Settings, embedder: Embedder, artifact: Artifact,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.on_batch = on_batch
        self._served = self._serve(artifact, embedder)
        self._checked = time.monotonic()
        self._failed: Path | None = None
        self._lock = threading.Lock()

    def _serve(self, artifact: Artifact, embedder: Embedder) -> Served:
        settings = self.settings
        ranking = Ranking()
        if settings.min_fit is not None:  # 0 switches "nothing fits" off
            ranking = replace(ranking, min_on_topic=settings.min_fit)
        batcher = QueryBatcher(embedder, on_batch=self.on_batch)  # the one thread that runs the model for this build
        searcher = Searcher(batcher, artifact, ranking)
        presenters = {lang: Presenter(Prompts(settings.prompts_dir, lang), artifact.taxonomy) for lang in SUPPORTED}
        intents = IntentClassifier(batcher, load_examples(settings.prompts_dir), artifact.challenge_vectors,
                                   artifact.challenges)
        conversation = Conversation(searcher, presenters, limit=settings.default_limit, intents=intents,
                                    max_challenge_chars=settings.max_query_chars)
        return Served(artifact.path, searcher, presenters["de"], conversation, batcher)

    def current(self) -> Served:
        now = time.monotonic()
        if now - self._checked < self.settings.reload_interval:
            return self._served
        if not self._lock.acquire(blocking=False):
            return self._served  # another request is loading a new build; this one is answered by the old build
        try:
            self._checked = now
            return self._switch()
        finally:
            self._lock.release()

    def refresh(self) -> Served:
        """Check the ``current`` link now (after a publish or rollback) and serve the build it points to, if it loads."""
        with self._lock:
            self._checked = time.monotonic()
            return self._switch()

    def _switch(self) -> Served:
        """Serve the build ``current`` points to, if it is new and passes every check; else keep the old one."""
        try:
            target = current_build(self.settings.index_dir)
        except IndexNotFoundError:
            return self._served
        if target in (self._served.build, self._failed):
            return self._served
        served: Served | None = None
        try:
            artifact = load_build(target)
            check_manifest(self.settings, artifact.manifest)
            embedder = self.embedder
            if artifact.manifest.tuned != embedder.tuned:
                embedder = load_embedder(self.settings, artifact.manifest)
            served = self._serve(artifact, embedder)
            smoke_test(served)
        except Exception as exc:  # noqa: BLE001 - whatever breaks a new build, the old one keeps answering
            if served is not None:
                served.batcher.close()
            self._failed = target  # not retried until a newer build is published
            log.error("event=build_failed build=%s keeping=%s error=%s: %s", target.name, self._served.build.name,
                      type(exc).__name__, exc)
            return self._served
        old = self._served
        self.embedder, self._served = embedder, served
        old.batcher.close()  # requests still holding the old build finish first: close() queues behind them
        del old
        memory.release_freed()  # without it, every swap leaves about 25 MB the allocator keeps
        log.info("event=build_switched build=%s solutions=%d", artifact.build_id, artifact.manifest.count)
        return self._served


def smoke_test(served: Served) -> None:
    """Answer one search and one chat turn with a new build before it goes live (raises whatever breaks)."""
    record = served.searcher.artifact.records[0]
    result = served.searcher.search(record["title"], limit=3)
    served.presenter.items(result)
    served.conversation.reply(ChatRequest(message=record["title"]))


class Startup:
    """The service's loading state: the live index once the model and index are loaded.

    With ``load_in_background`` (``atlas serve``), loading runs in a thread so that the server answers at once:
    /api/health (liveness) says "starting", /api/ready and every search say 503 until the index is live.
    """

    def __init__(self, settings: Settings, background: bool, on_batch: Callable[[int], None] | None = None) -> None:
        self.settings = settings
        self.on_batch = on_batch
        self.live: LiveIndex | None = None
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._load, name="atlas-load", daemon=True)
            self._thread.start()
        else:
            self.live = load_live(settings, on_batch)

    def _load(self) -> None:
        try:
            self.live = load_live(self.settings, self.on_batch)
            memory.release_freed()  # what loading and training the intent classifier no longer needs
        except Exception as exc:  # noqa: BLE001 - any failure is reported by /api/health and /api/ready
            self.error = str(exc)
            log.error("event=startup_failed error=%s", type(exc).__name__)

    def current(self) -> Served:
        """The build that answers this request.

        Raises:
            ServiceStartingError: while the model and index are still loading (or could not be loaded).
        """
        if self.live is None:
            if self.error:
                raise errors.ServiceStartingError("startup_failed", reason=self.error)
            raise errors.ServiceStartingError("starting")
        return self.live.current()


class State(TypedDict):
    """What the lifespan loads once and every request can use."""

    live: Startup


def load_embedder(settings: Settings, manifest: Manifest) -> Embedder:
    """The model an index was built with (base or tuned), checked against the index's dimension."""
    embedder = Embedder(settings.embedding_model, settings.cache_dir, settings.query_prefix, settings.passage_prefix,
                        tuned=manifest.tuned)
    if embedder.dimension != manifest.dimension:
        raise errors.IndexMismatchError(
            f"Das Modell liefert {embedder.dimension} Dimensionen, der Index hat {manifest.dimension}. Bauen Sie den Index neu."
        )
    return embedder


def load_state(settings: Settings) -> State:
    """Load the index and the model, and check that they belong together.

    Raises:
        IndexNotFoundError, IndexCorruptError: if there is no usable index.
        IndexMismatchError: if the index was built with another model or prefixes.
        ModelLoadError: if the model cannot be loaded.
    """
    return State(live=Startup(settings, background=False))


def one_blas_thread() -> None:
    """Run NumPy's, SciPy's and FAISS's BLAS on one thread in this process (PyTorch keeps its own threads).

    A search's BLAS work is tiny (one question against a few thousand challenge vectors), but OpenBLAS's idle worker
    threads keep spinning after it and take the cores from the next question's forward pass: measured on 2 cores,
    side by side, a new question took about 115 ms over HTTP with OpenBLAS's default threads and 42 ms with one, and
    16 clients with new questions got 33 req/s instead of 61 (README, "One BLAS thread"; scripts/bench.py).
    """
    threadpool_limits(limits=1, user_api="blas")


def load_live(settings: Settings, on_batch: Callable[[int], None] | None = None) -> LiveIndex:
    """Load the current index build and its model (see load_state for the errors)."""
    one_blas_thread()  # here, not at import: the BLAS libraries are loaded by now
    artifact = load_current(settings.index_dir)
    check_manifest(settings, artifact.manifest)
    embedder = load_embedder(settings, artifact.manifest)
    log.info("Loaded index %s (%d solutions, model %s)", artifact.build_id, artifact.manifest.count, artifact.manifest.model)
    return LiveIndex(settings, embedder, artifact, on_batch)


def load_searcher(settings: Settings) -> Searcher:
    """The searcher over the current index (for scripts and the eval command)."""
    return load_state(settings)["live"].current().searcher


def check_manifest(settings: Settings, manifest: Manifest) -> None:
    """Refuse an index that was built with another model or other prefixes.

    Raises:
        IndexMismatchError: with a message that says how to fix it.
    """
    wanted = (settings.embedding_model, settings.query_prefix, settings.passage_prefix)
    built = (manifest.model, manifest.query_prefix, manifest.passage_prefix)
    if wanted != built:
        raise errors.IndexMismatchError(
            f"Der Index unter {settings.index_dir} wurde mit dem Modell '{manifest.model}' "
            f"(Präfixe {manifest.query_prefix!r}/{manifest.passage_prefix!r}) erstellt, der Dienst ist aber auf "
            f"'{settings.embedding_model}' ({settings.query_prefix!r}/{settings.passage_prefix!r}) eingestellt. "
            "Bauen Sie den Index mit 'atlas index' neu oder stellen Sie ATLAS_EMBEDDING_MODEL passend ein."
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the model and index are loaded when the lifespan starts."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        startup = app.state.startup = Startup(settings, background=settings.load_in_background,
                                              on_batch=metrics.batch_size.observe)
        try:
            app.state.feedback_store.prepare()  # the table exists before the first rating; a failure only affects feedback
        except FeedbackStoreError:
            log.warning("event=feedback_store_unavailable store=%r", app.state.feedback_store)
        yield State(live=startup)
        app.state.feedback_store.close()
        app.state.publisher.close()

    app = FastAPI(
        title="Atlas-Lotse",
        summary="Semantische Suche nach Smart-City-Lösungen für Planungsherausforderungen.",
        version=package_version(),
        lifespan=lifespan,
        docs_url=None,  # served by routes/docs.py from local assets instead of a CDN
        redoc_url=None,
    )
    document_limits(app, settings)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,  # 413 before a larger body is read
                       larger={"/api/admin/import": settings.max_import_bytes})
    app.add_middleware(HeadAsGet)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.state.settings = settings
    app.state.feedback_limiter = feedback.new_limiter()
    app.state.feedback_store = FeedbackStore(settings.feedback_store_url())
    app.state.metrics = metrics
    app.state.templates = Jinja2Templates(directory=str(settings.web_dir / "templates"))
    errors.install_error_handlers(app)
    install_security(app, settings)
    admin.install(app, settings)
    app.include_router(api.router)
    app.include_router(feedback.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.include_router(metrics_router)
    app.mount(docs.ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger")
    app.mount("/static", StaticFiles(directory=str(settings.web_dir / "static")), name="static")
    return app
