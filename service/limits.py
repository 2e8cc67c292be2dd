"""Request checks that depend on settings or on the index being served, in one place.

The request models (service/schemas.py) check types and shapes; what an operator configures (ATLAS_MAX_QUERY_CHARS,
ATLAS_MAX_LIMIT) and what the served index knows (its themes) is checked here, and the same values are written into
the OpenAPI document (``document_limits``) and the page, so API, documentation and page never disagree.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from service.config import Settings
from service.errors import InvalidQueryError
from service.schemas import ChatRequest, ConversationState, SearchRequest


def check_text(value: str, field: str, settings: Settings) -> None:
    if len(value) > settings.max_query_chars:
        raise InvalidQueryError("too_long", field, max_length=settings.max_query_chars)


def check_themes(themes: list[str], field: str, taxonomy: dict[str, dict[str, Any]]) -> None:
    unknown = [t for t in themes if t not in taxonomy.get("themes", {})]
    if unknown:
        raise InvalidQueryError("unknown_theme", field, value=unknown[0], expected=", ".join(taxonomy.get("themes", {})))


def check_search(body: SearchRequest, settings: Settings, taxonomy: dict[str, dict[str, Any]]) -> None:
    """Raises InvalidQueryError (422, German, with the field) for anything the settings or the index do not allow."""
    check_text(body.query, "query", settings)
    if body.limit is not None and body.limit > settings.max_limit:
        raise InvalidQueryError("too_many", "limit", max_limit=settings.max_limit)
    check_themes(body.themes, "themes", taxonomy)


def check_chat(body: ChatRequest, settings: Settings, taxonomy: dict[str, dict[str, Any]]) -> None:
    check_text(body.message, "message", settings)
    check_themes(body.themes, "themes", taxonomy)
    if body.state is not None:
        check_state(body.state, settings, taxonomy)


def check_state(state: ConversationState, settings: Settings, taxonomy: dict[str, dict[str, Any]]) -> None:
    """A state comes back from the client: it must be one this service could have written."""
    check_text(state.challenge, "state.challenge", settings)
    check_themes(state.themes, "state.themes", taxonomy)
    if len(set(state.shown)) != len(state.shown):
        raise InvalidQueryError("state_repeats", "state.shown")


def document_limits(app: FastAPI, settings: Settings) -> None:
    """Write the configured limits into the OpenAPI document (the schema classes carry only the defaults)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        models = schema.get("components", {}).get("schemas", {})
        for model, field in (("SearchRequest", "query"), ("ChatRequest", "message"), ("ConversationState", "challenge")):
            if model in models:
                models[model]["properties"][field]["maxLength"] = settings.max_query_chars
        if "SearchRequest" in models:
            limit = models["SearchRequest"]["properties"]["limit"]
            for option in limit.get("anyOf", [limit]):
                if option.get("type") == "integer":
                    option["maximum"] = settings.max_limit
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
