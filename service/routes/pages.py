"""The chat page, its embeddable variant, the widget script and the two statement pages."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from starlette.exceptions import HTTPException

from indexer.corpus import RecordDict
from indexer.geodata import SOURCE
from service.compare import MAX_COMPARED, MIN_COMPARED, comparison, comparison_csv, comparison_markdown
from service.config import Settings
from service.deps import PresenterDep, SearcherDep, SettingsDep, templates
from service.explain import Presenter
from service.geo import MAP_FILTERS, boundaries, filter_options, locator, map_view
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
        # "Lösungen aus Kommunen wie unserer": the Länder and size classes the atlas has solutions from
        "places": filter_options(searcher.artifact.records, presenter, searcher.artifact.taxonomy),
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


def _solution(solution_id: str, searcher: Searcher) -> RecordDict:
    record = searcher.get(solution_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"Die Lösung „{solution_id[:80]}“ gibt es im Atlas nicht (mehr).")
    return record


def _compared(ids: str, searcher: Searcher) -> list[RecordDict]:
    wanted = list(dict.fromkeys(i.strip() for i in ids.split(",") if i.strip()))
    if not MIN_COMPARED <= len(wanted) <= MAX_COMPARED:
        raise HTTPException(status_code=422, detail=f"Wählen Sie zum Vergleich {MIN_COMPARED} bis {MAX_COMPARED} "
                                                    "Lösungen aus (zum Beispiel auf der Merkliste).")
    return [_solution(i, searcher) for i in wanted]


@router.get("/vergleich", response_class=HTMLResponse, include_in_schema=False)
def show_comparison(request: Request, searcher: SearcherDep, presenter: PresenterDep,
                    ids: Annotated[str, Query(max_length=1000)] = "") -> HTMLResponse:
    """2–4 solutions side by side, printable, with Markdown and CSV downloads (works without JavaScript)."""
    records = _compared(ids, searcher)
    return templates(request).TemplateResponse(request, "vergleich.html", {
        "records": records, "rows": comparison(records, presenter), "ids": ",".join(r["id"] for r in records)})


DOWNLOADS = {"md": ("text/markdown", comparison_markdown), "csv": ("text/csv", comparison_csv)}


@router.get("/vergleich.{extension}", include_in_schema=False)
def download_comparison(extension: Literal["md", "csv"], searcher: SearcherDep, presenter: PresenterDep,
                        ids: Annotated[str, Query(max_length=1000)] = "") -> Response:
    """The comparison as Markdown or as CSV for spreadsheets."""
    media_type, render = DOWNLOADS[extension]
    return Response(render(_compared(ids, searcher), presenter), media_type=f"{media_type}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="vergleich-atlas-lotse.{extension}"'})


@router.get("/karte", response_class=HTMLResponse, include_in_schema=False)
def show_map(request: Request, searcher: SearcherDep, presenter: PresenterDep, settings: SettingsDep,
             space_type: Annotated[str, Query(max_length=40)] = "", theme: Annotated[str, Query(max_length=40)] = "",
             status: Annotated[str, Query(max_length=40)] = "", state: Annotated[str, Query(max_length=40)] = "",
             size_class: Annotated[str, Query(max_length=40)] = "") -> HTMLResponse:
    """Where the solutions run: a server-rendered SVG map with filters, and the same solutions as a list."""
    records = searcher.artifact.records
    options = filter_options(records, presenter, searcher.artifact.taxonomy)
    filters = {"space_type": space_type, "theme": theme, "status": status, "state": state, "size_class": size_class}
    for name in MAP_FILTERS:
        if filters[name] and filters[name] not in {value for value, _ in options[name]}:
            raise HTTPException(status_code=422, detail=f"Diesen Filterwert kennt die Karte nicht: „{filters[name][:40]}“. "
                                                        "Wählen Sie einen Wert aus der Liste.")
    view = map_view(records, boundaries(settings.cache_dir), presenter, filters)
    return templates(request).TemplateResponse(request, "karte.html", {
        "view": view, "options": options, "total": len(records), "source": SOURCE})


@router.get("/loesung/{solution_id}", response_class=HTMLResponse, include_in_schema=False)
def show_solution(request: Request, solution_id: str, searcher: SearcherDep, presenter: PresenterDep,
                  settings: SettingsDep) -> HTMLResponse:
    """One solution on its own page, with a locator map (the map's markers link here)."""
    record = _solution(solution_id, searcher)
    return templates(request).TemplateResponse(request, "loesung.html", {
        "record": record, "rows": comparison([record], presenter),
        "locator": locator(record, boundaries(settings.cache_dir), presenter)})


@router.get("/loesung/{solution_id}/karte.svg", include_in_schema=False)
def read_locator(request: Request, solution_id: str, searcher: SearcherDep, presenter: PresenterDep,
                 settings: SettingsDep) -> Response:
    """The locator map as an SVG image (the chat's details view shows it)."""
    record = _solution(solution_id, searcher)
    view = locator(record, boundaries(settings.cache_dir), presenter)
    places = ", ".join(dict.fromkeys(m.place for m in view.markers)) or "kein einzelner Ort"
    svg = templates(request).get_template("_map.html").module.svg_map(  # type: ignore[attr-defined]
        view, f"Lage: {places} ({record['state']})", links=False, standalone=True, css_class="map-small")
    return Response(str(svg), media_type="image/svg+xml; charset=utf-8", headers={"Cache-Control": "public, max-age=300"})


@router.get("/widget.js", include_in_schema=False)
def read_widget(settings: SettingsDep) -> FileResponse:
    """The one script a host page includes to get the launcher and the chat iframe."""
    # Short cache: host pages pick up a fixed widget within minutes, without a versioned URL.
    return FileResponse(
        settings.web_dir / "static" / "widget.js", media_type="text/javascript; charset=utf-8",
        headers={"cache-control": "public, max-age=300"},
    )
