"""Typed dependency aliases: each resource is declared once and routes name it by type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from service.config import Settings
from service.conversation import Conversation
from service.explain import Presenter
from service.search import Searcher

if TYPE_CHECKING:
    from service.app import Startup


def _live(request: Request) -> Startup:
    return cast("Startup", request.state.live)


def get_startup(request: Request) -> Startup:
    return _live(request)


def get_searcher(request: Request) -> Searcher:
    return _live(request).current().searcher


def get_presenter(request: Request) -> Presenter:
    return _live(request).current().presenter


def get_conversation(request: Request) -> Conversation:
    return _live(request).current().conversation


def templates(request: Request) -> Jinja2Templates:
    """The page templates (web/templates), set up once in create_app."""
    return cast(Jinja2Templates, request.app.state.templates)


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


SearcherDep = Annotated[Searcher, Depends(get_searcher)]
PresenterDep = Annotated[Presenter, Depends(get_presenter)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ConversationDep = Annotated[Conversation, Depends(get_conversation)]
StartupDep = Annotated["Startup", Depends(get_startup)]
