"""The chat page, its embeddable variant, the widget script and the two statement pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.exceptions import HTTPException

from service.config import Settings
from service.deps import PresenterDep, SearcherDep, SettingsDep, templates
from service.explain import Presenter
from service.search import Searcher

router = APIRouter(tags=["pages"])


def _chat(request: Request, template: str, searcher: Searcher, presenter: Presenter, settings: Settings) -> HTMLResponse:
    context = {
        "welcome": presenter.prompts.render("welcome"),
        "count": searcher.count,
        "max_query_chars": settings.max_query_chars,
        # (slug, label) pairs for the space-type and theme filters, in taxonomy order
        **{kind: [(slug, presenter.label(kind, slug)) for slug in searcher.artifact.taxonomy.get(kind, {})]
           for kind in ("space_types", "themes")},
    }
    return templates(request).TemplateResponse(request, template, context)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def show_chat(request: Request, searcher: SearcherDep, presenter: PresenterDep, settings: SettingsDep) -> HTMLResponse:
    """The chat page, with the assistant's greeting already in place."""
    return _chat(request, "chat.html", searcher, presenter, settings)


@router.get("/embed", response_class=HTMLResponse, include_in_schema=False)
def show_embed(request: Request, searcher: SearcherDep, presenter: PresenterDep, settings: SettingsDep) -> HTMLResponse:
    """The chat without the site frame, for the widget's iframe."""
    return _chat(request, "embed.html", searcher, presenter, settings)


@router.get("/barrierefreiheit", response_class=HTMLResponse, include_in_schema=False)
def show_accessibility(request: Request) -> HTMLResponse:
    """The accessibility statement (a template the operator completes)."""
    return templates(request).TemplateResponse(request, "barrierefreiheit.html", {})


@router.get("/datenschutz", response_class=HTMLResponse, include_in_schema=False)
def show_privacy(request: Request, settings: SettingsDep) -> HTMLResponse:
    """What the service stores and what it does not."""
    return templates(request).TemplateResponse(request, "datenschutz.html",
                                               {"insights": settings.insights, "insights_days": settings.insights_days})


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
def show_admin(request: Request, searcher: SearcherDep, presenter: PresenterDep, settings: SettingsDep) -> HTMLResponse:
    """The editors' workbench (404 unless ATLAS_ADMIN_TOKEN is set); it talks to /api/admin/* with the token."""
    if settings.admin_token is None:
        raise HTTPException(status_code=404)
    taxonomy = {kind: [(slug, presenter.label(kind, slug)) for slug in searcher.artifact.taxonomy.get(kind, {})]
                for kind in ("space_types", "themes", "raumwirkungen", "status", "programs")}
    return templates(request).TemplateResponse(request, "admin.html", {"taxonomy": taxonomy},
                                               headers={"Cache-Control": "no-store"})


@router.get("/widget.js", include_in_schema=False)
def read_widget(settings: SettingsDep) -> FileResponse:
    """The one script a host page includes to get the launcher and the chat iframe."""
    # Short cache: host pages pick up a fixed widget within minutes, without a versioned URL.
    return FileResponse(
        settings.web_dir / "static" / "widget.js", media_type="text/javascript; charset=utf-8",
        headers={"cache-control": "public, max-age=300"},
    )
