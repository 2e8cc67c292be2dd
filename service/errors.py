"""Domain exceptions and the one place where they become HTTP responses.

The JSON error shape, returned by every API error (never change or drop these keys)::

    {"ok": false, "status": <int>, "error": "<German sentence for the user>",
     "errors": [{"field": "<name or null>", "message": "<German sentence>"}]}
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class AtlasError(Exception):
    """Base class: a message for the user and an HTTP status."""

    status = 500

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidQueryError(AtlasError):
    status = 422


class SolutionNotFoundError(AtlasError):
    status = 404


class IndexMismatchError(Exception):
    """The index was built with another model than the service is configured for."""


def error_body(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The only function that builds the JSON error shape (see module docstring)."""
    return {"ok": False, "status": status, "error": message, "errors": errors or [{"field": None, "message": message}]}


STATUS_MESSAGES = {
    404: "Diese Seite oder Ressource gibt es nicht.",
    405: "Diese Methode ist hier nicht erlaubt.",
    413: "Die Anfrage ist zu groß.",
    500: "Es ist ein interner Fehler aufgetreten. Bitte versuchen Sie es später erneut.",
}


def _validation_message(err: dict[str, Any], max_chars: int) -> tuple[str | None, str]:
    loc = [str(x) for x in err.get("loc", ()) if x != "body" and not isinstance(x, int)]
    field = ".".join(loc) or None
    kind = err.get("type", "")
    if kind == "missing":
        return field, f"Das Feld '{field}' fehlt."
    if kind == "string_too_long":
        return field, f"Ihre Eingabe ist zu lang: höchstens {err.get('ctx', {}).get('max_length', max_chars)} Zeichen."
    if kind == "value_error":
        return field, str(err.get("ctx", {}).get("error", err.get("msg", "")))
    if kind in ("json_invalid", "model_attributes_type", "dict_type"):
        return field, "Die Anfrage ist kein gültiges JSON-Objekt."
    if kind.startswith(("int_", "greater_than", "less_than")):
        return field, f"Das Feld '{field}' braucht eine ganze Zahl im erlaubten Bereich."
    if kind == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", "")).replace(" or ", " oder ")
        return field, f"Ungültiger Wert für '{field}': erlaubt sind {expected}."
    if kind == "extra_forbidden":
        return field, f"Das Feld '{field}' ist unbekannt."
    return field, f"Ungültiger Wert für '{field}'."


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to the one JSON shape (API) or the error page (browser pages)."""

    def respond(request: Request, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> Response:
        if wants_html(request):
            templates = request.app.state.templates
            return templates.TemplateResponse(request, "error.html", {"status": status, "message": message}, status_code=status)
        return JSONResponse(error_body(status, message, errors), status_code=status)

    @app.exception_handler(AtlasError)
    async def handle_atlas_error(request: Request, exc: AtlasError) -> Response:
        return respond(request, exc.status, exc.message, [{"field": exc.field, "message": exc.message}])

    @app.exception_handler(RequestValidationError)
    async def handle_validation(request: Request, exc: RequestValidationError) -> Response:
        max_chars = request.app.state.settings.max_query_chars
        errors = [dict(zip(("field", "message"), _validation_message(e, max_chars), strict=True)) for e in exc.errors()]
        return respond(request, 422, errors[0]["message"] if errors else "Ungültige Anfrage.", errors)

    @app.exception_handler(StarletteHTTPException)
    async def handle_http(request: Request, exc: StarletteHTTPException) -> Response:
        # Starlette's English defaults ("Not Found") are replaced by German sentences.
        own = isinstance(exc.detail, str) and exc.status_code < 500 and exc.detail not in ("Not Found", "Method Not Allowed")
        message = exc.detail if own else STATUS_MESSAGES.get(exc.status_code, "Fehler.")
        return respond(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def handle_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("Unhandled error on %s", request.url.path)
        return respond(request, 500, STATUS_MESSAGES[500])
