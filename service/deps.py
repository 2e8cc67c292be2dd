"""Typed dependency aliases: each resource is declared once and routes name it by type."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.config import Settings
from service.conversation import Conversation
from service.explain import Presenter
from service.search import Searcher


def get_searcher(request: Request) -> Searcher:
    return request.state.live.current().searcher


def get_presenter(request: Request) -> Presenter:
    return request.state.live.current().presenter


def get_conversation(request: Request) -> Conversation:
    return request.state.live.current().conversation


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SearcherDep = Annotated[Searcher, Depends(get_searcher)]
PresenterDep = Annotated[Presenter, Depends(get_presenter)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ConversationDep = Annotated[Conversation, Depends(get_conversation)]
