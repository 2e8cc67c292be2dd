"""Security headers on every response, CORS for /api/* only, no cookies, no inline code in the web assets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from service.app import create_app
from service.config import Settings
from service.security import SecurityHeadersMiddleware

WEB = Path(__file__).parent.parent / "web"
HOST = "https://www.beispielstadt.de"
OTHER = "https://evil.example"


@pytest.fixture(scope="module")
def secure_client(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    update = {"embed_origins": [HOST], "feedback_db": tmp_path_factory.mktemp("fb") / "f.sqlite3"}
    with TestClient(create_app(settings.model_copy(update=update))) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/embed"), ("GET", "/barrierefreiheit"), ("GET", "/datenschutz"), ("GET", "/widget.js"),
     ("GET", "/static/app.css"), ("GET", "/api/health"), ("GET", "/gibt-es-nicht"), ("POST", "/api/chat")],
)
def test_every_response_has_the_security_headers(secure_client: TestClient, method: str, path: str) -> None:
    response = secure_client.request(method, path, json={} if method == "POST" else None, headers={"accept": "text/html"})
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "unsafe" not in csp
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp
    assert csp.endswith(f"frame-ancestors 'self' {HOST}")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in response.headers


def test_default_allows_framing_by_the_own_origin_only(client: TestClient) -> None:
    response = client.get("/embed", headers={"origin": HOST})
    assert response.headers["content-security-policy"].endswith("frame-ancestors 'self'")
    assert "access-control-allow-origin" not in client.get("/api/health", headers={"origin": HOST}).headers


def test_api_docs_get_their_own_policy_and_cannot_be_framed(secure_client: TestClient) -> None:
    csp = secure_client.get("/docs").headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "https:" not in csp  # Swagger UI is self-hosted
    page = secure_client.get("/docs").text
    assert "https://" not in page and "/swagger/swagger-ui-bundle.js" in page
    assert secure_client.get("/swagger/swagger-ui-bundle.js").status_code == 200
    assert secure_client.get("/redoc").status_code == 404


def test_cors_for_the_api_only_and_only_for_configured_origins(secure_client: TestClient) -> None:
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
    allowed = secure_client.options("/api/chat", headers={"origin": HOST, **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == HOST
    assert "access-control-allow-credentials" not in allowed.headers
    refused = secure_client.options("/api/chat", headers={"origin": OTHER, **preflight})
    assert "access-control-allow-origin" not in refused.headers
    assert secure_client.get("/api/health", headers={"origin": HOST}).headers["access-control-allow-origin"] == HOST
    assert "access-control-allow-origin" not in secure_client.get("/api/health", headers={"origin": OTHER}).headers
    assert "access-control-allow-origin" not in secure_client.get("/embed", headers={"origin": HOST}).headers


def test_even_an_unexpected_error_has_the_headers(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"embed_origins": [HOST]}))

    @app.get("/kaputt")
    def broken() -> None:
        raise RuntimeError("Absichtlicher Fehler")

    client = TestClient(app, raise_server_exceptions=False)  # no lifespan: the route needs no index
    response = client.get("/kaputt")
    assert response.status_code == 500 and response.json()["ok"] is False
    assert response.headers["content-security-policy"].endswith(f"frame-ancestors 'self' {HOST}")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_no_layer_can_set_a_cookie() -> None:
    def set_cookie(request: object) -> PlainTextResponse:
        response = PlainTextResponse("hallo")
        response.set_cookie("tracking", "1")
        return response

    app = Starlette(routes=[Route("/", set_cookie)])
    app.add_middleware(SecurityHeadersMiddleware, embed_origins=[])
    with TestClient(app) as client:
        response = client.get("/")
    assert "set-cookie" not in response.headers and not client.cookies


def test_widget_script_is_served_as_javascript(secure_client: TestClient) -> None:
    response = secure_client.get("/widget.js")
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age" in response.headers["cache-control"]
    assert '"/embed"' in response.text and "frame.title" in response.text


def test_embed_page_is_the_chat_with_the_notice(secure_client: TestClient) -> None:
    html = secure_client.get("/embed").text
    assert 'id="ask"' in html and 'role="log"' in html and "automatischen Assistenten" in html
    assert 'target="_blank"' in html  # statements open outside the small frame


@pytest.mark.parametrize("path", sorted(p.relative_to(WEB).as_posix() for p in WEB.rglob("*.html")))
def test_templates_have_no_inline_code(path: str) -> None:
    html = (WEB / path).read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"\sstyle\s*=|<style", html), "inline style"


@pytest.mark.parametrize("path", sorted(p.name for p in (WEB / "static").glob("*.js")))
def test_scripts_never_build_html_from_strings(path: str) -> None:
    code = (WEB / "static" / path).read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage", "document.cookie"):
        assert sink not in code, sink


def test_embed_origins_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_EMBED_ORIGINS", "https://www.Beispielstadt.de/, http://127.0.0.1:8080")
    assert Settings().embed_origins == ["https://www.beispielstadt.de", "http://127.0.0.1:8080"]
    for bad in ("*", "https://www.beispielstadt.de/chat", "beispielstadt.de"):
        monkeypatch.setenv("ATLAS_EMBED_ORIGINS", bad)
        with pytest.raises(ValueError, match="ATLAS_EMBED_ORIGINS"):
            Settings()
