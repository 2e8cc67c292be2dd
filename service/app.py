"""The application factory: configuration in, a ready FastAPI app out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TypedDict

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from swagger_ui_bundle import swagger_ui_path

from indexer.artifact import Manifest, load_current
from indexer.embedding import Embedder
from service import errors
from service.config import Settings
from service.conversation import Conversation
from service.explain import Presenter
from service.language import SUPPORTED
from service.prompts import Prompts
from service.routes import api, docs, feedback, pages
from service.search import Ranking, Searcher
from service.security import install_security

log = logging.getLogger(__name__)


class State(TypedDict):
    """What the lifespan loads once and every request can use."""

    searcher: Searcher
    presenter: Presenter
    conversation: Conversation


def load_state(settings: Settings) -> State:
    """Load the index and the model, and check that they belong together.

    Raises:
        IndexNotFoundError, IndexCorruptError: if there is no usable index.
        IndexMismatchError: if the index was built with another model or prefixes.
        ModelLoadError: if the model cannot be loaded.
    """
    artifact = load_current(settings.index_dir)
    manifest = artifact.manifest
    check_manifest(settings, manifest)
    embedder = Embedder(settings.embedding_model, settings.cache_dir, settings.query_prefix, settings.passage_prefix,
                        tuned=manifest.tuned)
    if embedder.dimension != manifest.dimension:
        raise errors.IndexMismatchError(
            f"Das Modell liefert {embedder.dimension} Dimensionen, der Index hat {manifest.dimension}. Bauen Sie den Index neu."
        )
    log.info("Loaded index %s (%d solutions, model %s)", artifact.build_id, manifest.count, manifest.model)
    ranking = Ranking()
    if settings.min_fit is not None:  # 0 switches "nothing fits" off entirely, the detector included
        ranking = replace(ranking, min_similarity=settings.min_fit, min_on_topic=ranking.min_on_topic if settings.min_fit else 0.0)
    searcher = Searcher(embedder, artifact, ranking)
    presenters = {lang: Presenter(Prompts(settings.prompts_dir, lang), artifact.taxonomy) for lang in SUPPORTED}
    return State(
        searcher=searcher,
        presenter=presenters["de"],
        conversation=Conversation(searcher, presenters, limit=settings.default_limit),
    )


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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        yield load_state(settings)

    app = FastAPI(
        title="Atlas-Lotse",
        summary="Semantische Suche nach Smart-City-Lösungen für Planungsherausforderungen.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by routes/docs.py from local assets instead of a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=str(settings.web_dir / "templates"))
    errors.install_error_handlers(app)
    install_security(app, settings)
    app.include_router(api.router)
    app.include_router(feedback.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.mount(docs.ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger")
    app.mount("/static", StaticFiles(directory=str(settings.web_dir / "static")), name="static")
    return app
