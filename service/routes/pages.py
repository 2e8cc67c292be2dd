"""The chat page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.deps import PresenterDep, SearcherDep

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def show_chat(request: Request, searcher: SearcherDep, presenter: PresenterDep) -> HTMLResponse:
    """The chat page, with the assistant's greeting already in place."""
    space_types = [(slug, presenter.label("space_types", slug)) for slug in presenter.taxonomy.get("space_types", {})]
    return request.app.state.templates.TemplateResponse(
        request, "chat.html",
        {"welcome": presenter.prompts.render("welcome"), "space_types": space_types, "count": searcher.count},
    )
