"""Request checks that depend on settings or on the index being served, in one place.

The request models (service/schemas.py) check types and shapes; what an operator configures (ATLAS_MAX_QUERY_CHARS,
ATLAS_MAX_LIMIT) and what the served index knows (its themes) is checked here, and the same values are written into
the OpenAPI document (``document_limits``) and the page, so API, documentation and page never disagree.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel

from service.config import Settings
from service.errors import InvalidQueryError
from service.schemas import INVISIBLE, ChatRequest, ConversationState, SearchRequest


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


VISIBLE_PATTERN = "[^\\s" + "".join(f"\\u{ord(c):04x}" for c in INVISIBLE) + "]"


class ErrorItem(BaseModel):
    field: str | None
    message: str


class ErrorResponse(BaseModel):
    """The one error shape of every API error (service/errors.py)."""

    ok: Literal[False]
    status: int
    error: str
    errors: list[ErrorItem]


def document_limits(app: FastAPI, settings: Settings) -> None:
    """Write the configured limits and the real error shape into the OpenAPI document (the schema classes carry only
    the defaults; FastAPI would document 422 as ``{"detail": …}``)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        app.openapi_schema = None  # built anew: the themes come from the build being served, which can change
        schema = original()
        models = schema.get("components", {}).get("schemas", {})
        for model, field in (("SearchRequest", "query"), ("ChatRequest", "message"), ("ConversationState", "challenge"),
                             ("FeedbackRequest", "query")):
            if model in models:
                models[model]["properties"][field]["maxLength"] = settings.max_query_chars
        if "ConversationState" in models:  # a result is listed once (check_state)
            models["ConversationState"]["properties"]["shown"]["uniqueItems"] = True
        for model, field in (("SearchRequest", "query"), ("ChatRequest", "message"), ("FeedbackRequest", "query")):
            if model in models:  # something to read: not empty, not only spaces or invisible characters
                models[model]["properties"][field].update(minLength=1, pattern=VISIBLE_PATTERN)
        if "SearchRequest" in models:
            limit = models["SearchRequest"]["properties"]["limit"]
            for option in limit.get("anyOf", [limit]):
                if option.get("type") == "integer":
                    option["maximum"] = settings.max_limit
        startup = getattr(app.state, "startup", None)
        if startup is not None and startup.live is not None:
            artifact = startup.live.current().searcher.artifact
            themes = list(artifact.taxonomy.get("themes", {}))
            if "FeedbackRequest" in models:  # feedback names solutions of the served build
                models["FeedbackRequest"]["properties"]["result_ids"]["items"] = {
                    "type": "string", "enum": [r["id"] for r in artifact.records]}
            for model in ("SearchRequest", "ChatRequest", "ConversationState"):
                if model in models:
                    models[model]["properties"]["themes"]["items"] = {"type": "string", "enum": themes}
        _document_errors(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_errors(schema: dict[str, Any]) -> None:
    """Every operation answers errors in the one shape: 422 as it really is, any other status as the default."""
    models = schema.setdefault("components", {}).setdefault("schemas", {})
    models.pop("HTTPValidationError", None)
    models.pop("ValidationError", None)
    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    models.update(error_schema.pop("$defs", {}))
    models["ErrorResponse"] = error_schema
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    response["content"] = content
            responses["default"] = {"description": "Fehler im einheitlichen Format (ok, status, error, errors)",
                                    "content": content}
