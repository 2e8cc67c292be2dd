"""Domain exceptions and the one place where they become HTTP responses.

The JSON error shape, returned by every API error (never change or drop these keys)::

    {"ok": false, "status": <int>, "error": "<German sentence for the user>",
     "errors": [{"field": "<name or null>", "message": "<German sentence>"}]}
"""

from __future__ import annotations

import logging
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from typing import Any, cast

import yaml
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class AtlasError(Exception):
    """Base class: an HTTP status and a message key from prompts/de/errors.yaml with its values."""

    status = 500

    def __init__(self, key: str, field: str | None = None, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.field = field
        self.values = values


class InvalidQueryError(AtlasError):
    status = 422


class SolutionNotFoundError(AtlasError):
    status = 404


class ServiceBusyError(AtlasError):
    """Too many requests are waiting for the model."""

    status = 503


class ServiceStartingError(AtlasError):
    """The model and index are still loading (``atlas serve`` answers while it starts)."""

    status = 503


class IndexMismatchError(Exception):
    """The index was built with another model than the service is configured for."""


# Framework messages (English) that are replaced by the German sentence for their status, besides the standard
# reason phrases ("Not Found", "Request Entity Too Large", …).
FRAMEWORK_DETAILS = frozenset({"There was an error parsing the body", "Content Too Large"})


def error_body(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The only function that builds the JSON error shape (see module docstring)."""
    return {"ok": False, "status": status, "error": message, "errors": errors or [{"field": None, "message": message}]}


@lru_cache(maxsize=4)
def _catalogue(prompts_dir: Path) -> dict[str, str]:
    path = prompts_dir / "de" / "errors.yaml"
    return {str(k): str(v) for k, v in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items()}


def text(request: Request, key: str, **values: Any) -> str:
    """The German sentence for a message key (the user-facing wording lives in prompts/, not here)."""
    catalogue = _catalogue(request.app.state.settings.prompts_dir)
    template = catalogue.get(key) or catalogue.get("status_other", key)
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template


def _validation_message(request: Request, err: dict[str, Any]) -> tuple[str | None, str]:
    loc = [str(x) for x in err.get("loc", ()) if x != "body" and not isinstance(x, int)]
    field = ".".join(loc) or None
    kind = err.get("type", "")
    ctx = err.get("ctx", {}) or {}
    if kind == "missing":
        return field, text(request, "missing", field=field)
    if kind == "string_too_long":
        return field, text(request, "too_long", max_length=ctx.get("max_length", request.app.state.settings.max_query_chars))
    if kind == "value_error":
        return field, text(request, str(ctx.get("error", "")), field=field)  # validators raise ValueError(<key>)
    if kind in ("json_invalid", "model_attributes_type", "dict_type"):
        return field, text(request, "not_json")
    if kind.startswith(("int_", "greater_than", "less_than")):
        return field, text(request, "integer", field=field)
    if kind == "literal_error":
        return field, text(request, "choice", field=field, expected=str(ctx.get("expected", "")).replace(" or ", " oder "))
    if kind == "extra_forbidden":
        return field, text(request, "unknown_field", field=field)
    return field, text(request, "invalid", field=field)


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to the one JSON shape (API) or the error page (browser pages)."""

    def respond(request: Request, status: int, message: str, errors: list[dict[str, Any]] | None = None,
                headers: dict[str, str] | None = None) -> Response:
        if wants_html(request):
            templates = cast(Jinja2Templates, request.app.state.templates)
            return templates.TemplateResponse(request, "error.html", {"status": status, "message": message}, status_code=status,
                                              headers=headers)
        return JSONResponse(error_body(status, message, errors), status_code=status, headers=headers)

    @app.exception_handler(AtlasError)
    async def handle_atlas_error(request: Request, exc: AtlasError) -> Response:
        message = text(request, exc.key, **exc.values)
        headers = {"Retry-After": str(exc.values.get("retry_after", 5))} if exc.status in (429, 503) else None
        return respond(request, exc.status, message, [{"field": exc.field, "message": message}], headers)

    @app.exception_handler(RequestValidationError)
    async def handle_validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [dict(zip(("field", "message"), _validation_message(request, e), strict=True)) for e in exc.errors()]
        return respond(request, 422, str(errors[0]["message"]) if errors else text(request, "invalid_request"), errors)

    @app.exception_handler(StarletteHTTPException)
    async def handle_http(request: Request, exc: StarletteHTTPException) -> Response:
        # Starlette's English defaults ("Not Found") are replaced by German sentences.
        standard = exc.detail in FRAMEWORK_DETAILS or exc.detail == HTTPStatus(exc.status_code).phrase
        own = isinstance(exc.detail, str) and exc.status_code < 500 and not standard
        message = exc.detail if own else text(request, f"status_{exc.status_code}")
        return respond(request, exc.status_code, message, headers=dict(exc.headers) if exc.headers else None)  # Allow on 405

    @app.exception_handler(Exception)
    async def handle_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("Unhandled error on %s", request.url.path)
        return respond(request, 500, text(request, "status_500"))
