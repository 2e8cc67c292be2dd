"""Request and response models of the JSON API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SpaceType = Literal["innenstadt", "quartier", "gewerbegebiet"]
MAX_QUERY_CHARS = 2000  # also ATLAS_MAX_QUERY_CHARS; the schema carries the documented default


def _not_blank(value: str) -> str:
    if not value or not value.strip():
        raise ValueError("Bitte beschreiben Sie Ihre Frage oder Herausforderung in ein paar Worten.")
    return value.strip()


class SearchRequest(BaseModel):
    """A planner's challenge, optionally limited to one space type."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., max_length=MAX_QUERY_CHARS, examples=["In unserer Fußgängerzone stehen immer mehr Läden leer."])
    space_type: SpaceType | None = None
    limit: int | None = Field(None, ge=1, le=50)

    _check_query = field_validator("query")(_not_blank)


class ResultItem(BaseModel):
    """One ranked solution with the reason it matched."""

    id: str
    title: str
    summary: str
    space_types: list[str]
    space_type_labels: list[str]
    themes: list[str]
    theme_labels: list[str]
    municipality: str
    state: str
    status: str
    status_label: str
    score: float
    matched_challenge: str | None
    explanation: str


class SearchResponse(BaseModel):
    query: str
    space_type: SpaceType | None
    results: list[ResultItem]


class ChatRequest(BaseModel):
    """A chat turn: the planner's message (the conversation state comes with a later issue)."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(..., max_length=MAX_QUERY_CHARS)
    space_type: SpaceType | None = None

    _check_message = field_validator("message")(_not_blank)


class ChatResponse(BaseModel):
    message: str
    results: list[ResultItem]
    suggestions: list[str]


class HealthResponse(BaseModel):
    status: Literal["ok"]
    model: str
    solutions: int
    index_created: str
    index_build: str
    corpus_hash: str


class Solution(BaseModel):
    """A full record as editors wrote it."""

    id: str
    title: str
    summary: str
    space_types: list[str]
    themes: list[str]
    raumwirkungen: list[str]
    challenges: list[str]
    effects_intended: list[str]
    effects_unintended: list[str]
    indicators: list[str]
    municipality: str
    state: str
    program: str
    status: str
    sources: list[str]
    updated: str
    description: str
