"""Security headers on every response, and CORS for the JSON API only.

The page, the embeddable page and the widget load nothing from other origins and run no inline script,
so the Content-Security-Policy can be strict. Only the origins in ATLAS_EMBED_ORIGINS may frame the pages
(``frame-ancestors``) and call ``/api/*`` from their own scripts (CORS). No response ever sets a cookie.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings

# The API docs page (service/routes/docs.py) starts the self-hosted Swagger UI with an inline script;
# it gets its own policy (still same-origin only) and may not be framed, so the strict policy stays strict elsewhere.
DOCS_PATHS = frozenset({"/docs"})
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def content_security_policy(embed_origins: Sequence[str]) -> str:
    """The policy for every page and asset: same origin only, no inline code, framing by the listed origins."""
    ancestors = " ".join(["'self'", *embed_origins])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {ancestors}"
    )


def security_headers(csp: str) -> list[tuple[str, str]]:
    return [
        ("content-security-policy", csp),
        ("x-content-type-options", "nosniff"),
        # Source links lead to other sites; they learn nothing about the page or the question.
        ("referrer-policy", "no-referrer"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ]


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response and drops any Set-Cookie header."""

    def __init__(self, app: ASGIApp, embed_origins: Sequence[str]) -> None:
        self.app = app
        self.headers = security_headers(content_security_policy(embed_origins))
        self.docs_headers = security_headers(DOCS_CSP)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = self.docs_headers if scope["path"] in DOCS_PATHS else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                del response_headers["set-cookie"]  # the privacy note promises no cookies; enforce it here
                for name, value in headers:
                    response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ApiCORSMiddleware:
    """Starlette's CORSMiddleware, applied to /api/* only: pages and assets never get CORS headers."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app, allow_origins=list(origins), allow_methods=["GET", "POST"],
            allow_headers=["Accept", "Content-Type"], allow_credentials=False, max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _with_headers(handler: Callable[..., Any], headers: list[tuple[str, str]]) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        result = handler(request, exc)
        response = cast(Response, await result if inspect.isawaitable(result) else result)
        for name, value in headers:
            response.headers[name] = value
        return response

    return handle


def install_security(app: FastAPI, settings: Settings) -> None:
    """Add CORS (only if origins are configured) and, outermost, the security headers.

    Call after ``errors.install_error_handlers``: Starlette answers unhandled errors (500) outside every
    middleware, so their handler is wrapped to add the headers itself.
    """
    if settings.embed_origins:
        app.add_middleware(ApiCORSMiddleware, origins=settings.embed_origins)
    app.add_middleware(SecurityHeadersMiddleware, embed_origins=settings.embed_origins)
    for key in (Exception, 500):
        if key in app.exception_handlers:
            app.exception_handlers[key] = _with_headers(
                app.exception_handlers[key], security_headers(content_security_policy(settings.embed_origins)))
