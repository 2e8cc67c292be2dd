"""OpenAPI docs with a self-hosted Swagger UI (from the PyPI package swagger-ui-bundle): no CDN request."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

ASSETS = "/swagger"  # StaticFiles over swagger_ui_bundle.swagger_ui_path, mounted in create_app

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def show_docs(request: Request) -> HTMLResponse:
    """Swagger UI for the JSON API; the validator badge (a third-party request) is switched off."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title="Atlas-Lotse – API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},
    )
