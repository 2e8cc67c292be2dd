"""The editors' workbench API (/api/admin/*): records, import with a dry run, publishing jobs, builds and rollback.

Off unless ATLAS_ADMIN_TOKEN is set (then every route answers 404). Requests carry ``Authorization: Bearer <token>``:
none is a 401, a wrong one a 403; the token is compared in constant time and never logged. Record versions travel
as ETag / If-Match (indexer/editing.py). Publishing runs in a background worker: it reuses the live build's
model and the vector cache, so a publish after one edit embeds only that record; "retune" fine-tunes the model
on the corpus first (minutes, in a worker of its own, so a publish meanwhile is not held up) and then publishes
the corpus as it is by then. Builds go live one at a time.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from indexer.artifact import BUILDS, IndexNotFoundError, current_build, list_builds, switch_current, utc_now
from indexer.corpus import Corpus, CorpusError, Problem, load_corpus
from indexer.editing import EditError, Editor, Entry, ImportDiff, RecordNotFound
from indexer.exchange import ExchangeError, write_atomic
from service.config import Settings
from service.errors import error_body, text
from service.feedback import FeedbackStore
from service.insights import Group, demand_and_supply, group_questions, insights_csv

if TYPE_CHECKING:
    from indexer.embedding import Embedder
    from service.app import Startup

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "done", "failed"]
KEEP_JOBS = 50
ROLLBACK_WAIT = 10.0  # seconds a rollback waits for a build that is going live, then it is refused (409)
JOBS_FILE = "jobs.json"  # in the index folder: the workbench's jobs outlive a restart
INTERRUPTED = "Der Dienst wurde neu gestartet, bevor der Auftrag fertig war. Bitte veröffentlichen Sie erneut"


class BuildsBusy(EditError):
    status = 409


def require_admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """The admin token check (see module docstring)."""
    settings = cast(Settings, request.app.state.settings)
    if settings.admin_token is None:
        raise HTTPException(status_code=404)
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise HTTPException(status_code=401, detail=text(request, "admin_token_missing"),
                            headers={"WWW-Authenticate": 'Bearer realm="atlas-admin"'})
    if not hmac.compare_digest(given.strip().encode(), settings.admin_token.get_secret_value().encode()):
        log.warning("event=admin_token_wrong")
        raise HTTPException(status_code=403, detail=text(request, "admin_token_wrong"))


router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(require_admin)], responses={
    401: {"description": "Kein Token (Authorization: Bearer …)"}, 403: {"description": "Falsches Token"},
    404: {"description": "Nicht gefunden, oder die Werkbank ist aus (ATLAS_ADMIN_TOKEN nicht gesetzt)"},
})


# --- jobs --------------------------------------------------------------------------------------------------------


@dataclass
class Job:
    id: str
    kind: Literal["publish", "retune"]
    state: JobState = "queued"
    progress: float = 0.0
    step: str = "wartet"
    created: str = field(default_factory=utc_now)
    finished: str | None = None
    build: str | None = None
    seconds: float | None = None
    encoded: int | None = None  # texts the model embedded (the rest came from the vector cache)
    error: str | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    changed_share: float | None = None  # records new, changed or removed against the live build
    followed_by: str | None = None  # the retune job started after a larger change
    interrupted: bool = False  # the service stopped while the job was queued or running


class Publisher:
    """Publishes in background threads; the last KEEP_JOBS jobs are kept in ``<index>/jobs.json`` when the workbench
    is on, so after a restart an editor sees what happened, and a job cut off by the restart says so.

    Publishes run one at a time, and so do retunes, each kind in its own worker: a publish never waits minutes for a
    retune's fine-tune. Building and going live (``going_live``) is one at a time across both, and a retune builds
    from the corpus as it is after its fine-tune, so it never takes back what a publish meanwhile made live.
    """

    def __init__(self, settings: Settings, startup_of: Any) -> None:
        self.settings = settings
        self.startup_of = startup_of  # () -> Startup
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self._pools = {kind: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"atlas-{kind}")
                       for kind in ("publish", "retune")}
        self._lock = threading.Lock()
        self.going_live = threading.Lock()  # held while a build is published or rolled back to
        self._file = settings.index_dir / JOBS_FILE if settings.admin_token is not None else None
        self._restore()

    def _restore(self) -> None:
        """The jobs of the service before; those it did not finish are marked as cut off (never run again unasked)."""
        if self._file is None or not self._file.is_file():
            return
        try:
            for data in json.loads(self._file.read_text(encoding="utf-8")):
                job = Job(**{k: v for k, v in data.items() if k in Job.__dataclass_fields__})
                if job.state in ("queued", "running"):
                    job.state, job.interrupted, job.finished = "failed", True, utc_now()
                    job.error = INTERRUPTED + (" (mit „Modell zuvor neu an den Korpus anpassen“)." if job.kind == "retune" else ".")
                self.jobs[job.id] = job
        except (OSError, ValueError, TypeError, AttributeError) as exc:  # a damaged file costs the history, not the service
            log.warning("event=jobs_unreadable error=%s", type(exc).__name__)
            self.jobs.clear()
        self._save()

    def _save(self) -> None:
        if self._file is None:
            return
        with self._lock:  # written under the lock too: two workers' snapshots must not be renamed in the wrong order
            try:
                write_atomic(self._file, json.dumps([asdict(j) for j in self.jobs.values()], ensure_ascii=False, indent=1))
            except OSError as exc:  # the job still runs; only its record after a restart is missing
                log.warning("event=jobs_not_saved error=%s", type(exc).__name__)

    def submit(self, kind: Literal["publish", "retune"]) -> Job:
        """A new job; a retune asked for while another waits to start is that one (it reads the corpus when it starts)."""
        with self._lock:
            if kind == "retune" and (waiting := next((j for j in self.jobs.values()
                                                      if j.kind == "retune" and j.state == "queued"), None)):
                return waiting
            job = Job(id=secrets.token_hex(6), kind=kind)
            self.jobs[job.id] = job
            while len(self.jobs) > KEEP_JOBS:
                self.jobs.popitem(last=False)
        self._save()
        self._pools[kind].submit(self._run, job)
        return job

    def _step(self, job: Job, step: str, progress: float) -> None:
        job.step, job.progress = step, max(job.progress, progress)

    def _run(self, job: Job) -> None:
        from indexer.build import CorpusInvalidError, build_index
        from indexer.tune import RETUNE_SHARE, changed_share, index_embedder, shipped_records

        started = time.perf_counter()
        job.state = "running"
        self._save()
        try:
            startup: Startup = self.startup_of()
            live = startup.live
            if live is None:
                raise RuntimeError("Der Dienst lädt noch; veröffentlichen Sie in einigen Sekunden erneut.")
            background = shipped_records()
            embedder: Embedder | None = None  # a publish takes the live build's model: it never waits for a fine-tune
            if job.kind == "retune":
                self._step(job, "Korpus prüfen", 0.02)
                tuned_on = self._checked_corpus()
                self._step(job, "Modell an den Korpus anpassen (einige Minuten)", 0.05)
                s = self.settings
                embedder = index_embedder(s.embedding_model, s.cache_dir, s.query_prefix, s.passage_prefix,
                                          tuned_on.records, tuned=True, progress=False, background=background)
            if self.going_live.locked():
                self._step(job, "wartet, bis der Stand davor live ist", job.progress)
            with self.going_live:
                self._step(job, "Korpus prüfen", 0.1)
                corpus = self._checked_corpus()  # as it is now: what a publish during the fine-tune made live stays
                job.changed_share = round(changed_share(live.current().searcher.artifact.records, corpus.records), 3)
                result = build_index(corpus, self.settings.index_dir, live.embedder if embedder is None else embedder,
                                     background=background,
                                     on_step=lambda step, share: self._step(job, step, 0.15 + 0.7 * share))
                job.encoded = result.encoded
                self._step(job, "Der Dienst übernimmt den neuen Stand", 0.9)
                served = live.refresh()
            if served.build != result.path:
                raise RuntimeError("Der neue Stand hat die Prüfung beim Laden nicht bestanden; der bisherige bleibt aktiv.")
            job.build = result.path.name
            job.state, job.progress, job.step = "done", 1.0, "veröffentlicht"
            if job.kind == "publish" and self.settings.tune and job.changed_share > RETUNE_SHARE:
                # A larger change: the model is tuned again in the background and the result published after it.
                job.followed_by = self.submit("retune").id
                job.step = "veröffentlicht; das Modell wird im Hintergrund neu angepasst"
        except CorpusInvalidError as exc:
            job.state, job.error = "failed", str(exc)
            job.problems = [_problem(p) for p in exc.problems]
        except Exception as exc:  # noqa: BLE001 - reported in the job; the live build keeps serving
            job.state, job.error = "failed", str(exc) or type(exc).__name__
            log.error("event=publish_failed job=%s error=%s", job.id, type(exc).__name__)
        finally:
            job.finished = utc_now()
            job.seconds = round(time.perf_counter() - started, 2)
            self._save()
            if job.state == "done":
                log.info("event=published job=%s build=%s seconds=%.1f encoded=%s", job.id, job.build, job.seconds, job.encoded)

    def _checked_corpus(self) -> Corpus:
        """The corpus as it is on disk; raises CorpusInvalidError if any record has an error."""
        from indexer.build import CorpusInvalidError

        corpus = load_corpus(self.settings.corpus_dir)
        if corpus.errors:
            raise CorpusInvalidError(corpus.errors)
        return corpus

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


def _problem(p: Problem) -> dict[str, str]:
    return {"file": p.file, "field": p.field, "message": p.message, "fix": p.fix, "severity": p.severity}


# --- request and response models ---------------------------------------------------------------------------------


class RecordBody(BaseModel):
    """A record in the JSON Lines import format (corpus/README.md); ``id`` may be left out (the path names it)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "title": "Digitales Leerstandsmanagement", "summary": "…", "space_types": ["innenstadt"], "themes": ["daten"],
        "challenges": ["In unserer Fußgängerzone stehen immer mehr Läden leer; wir wissen nicht, wem sie gehören."],
        "municipality": "Beispielstadt", "state": "Niedersachsen", "program": "mpsc", "status": "umsetzung",
        "sources": ["https://www.beispielstadt.de/leerstand"], "updated": "2026-12-01", "description": "…"}})


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retune: bool = Field(False, description="Fine-tune the model on the corpus first (minutes); default: keep the live model.")


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    build: str = Field(..., pattern=r"^[0-9A-Za-z-]{1,64}$", description="A build name from GET /api/admin/builds.")


def _editor(request: Request) -> Editor:
    return cast(Editor, request.app.state.editor)


def _publisher(request: Request) -> Publisher:
    return cast(Publisher, request.app.state.publisher)


def _quoted(version: str) -> str:
    return f'"{version}"'


def _diff_body(diff: ImportDiff, applied: bool) -> dict[str, Any]:
    return {
        "ok": True, "applied": applied, "new": diff.new, "changed": diff.changed, "unchanged": diff.unchanged,
        "removed": diff.removed,
        "rejected": [{"row": label, "problems": [_problem(p) for p in problems]} for label, problems in diff.checked.rejected],
        "warnings": [_problem(p) for p in diff.checked.warnings],
    }


# --- routes ------------------------------------------------------------------------------------------------------


@router.get("/solutions", summary="Alle Lösungen mit Version und Hinweisen")
def list_solutions(request: Request, q: Annotated[str | None, Query(max_length=200)] = None,
                   space_type: Annotated[str | None, Query(max_length=64)] = None,
                   theme: Annotated[str | None, Query(max_length=64)] = None,
                   status: Annotated[str | None, Query(max_length=64)] = None,
                   problems: Annotated[bool, Query(description="Nur Dateien mit Fehlern oder Hinweisen")] = False,
                   ) -> dict[str, Any]:
    items = []
    needle = (q or "").casefold().strip()
    for item in _editor(request).records():
        r = item.record
        if r is not None:
            if space_type and space_type not in r["space_types"]:
                continue
            if theme and theme not in r["themes"]:
                continue
            if status and r["status"] != status:
                continue
            if needle and needle not in f"{r['id']} {r['title']} {r['municipality']} {r['summary']}".casefold():
                continue
        elif (space_type or theme or status) or (needle and needle not in item.id):
            continue
        if problems and not item.problems:
            continue
        items.append({
            "id": item.id, "version": item.version, "valid": r is not None,
            "title": r["title"] if r else None, "municipality": r["municipality"] if r else None,
            "space_types": r["space_types"] if r else [], "themes": r["themes"] if r else [],
            "status": r["status"] if r else None, "updated": r["updated"] if r else None,
            "problems": [_problem(p) for p in item.problems],
        })
    return {"ok": True, "count": len(items), "solutions": items}


@router.get("/solutions/{solution_id}", summary="Eine Lösung im Importformat (mit ETag)")
def get_solution(solution_id: str, request: Request, response: Response) -> dict[str, Any]:
    record, version, warnings = _editor(request).get(solution_id)
    response.headers["ETag"] = _quoted(version)
    return {"ok": True, "record": record, "version": version, "warnings": [_problem(p) for p in warnings]}


@router.put("/solutions/{solution_id}", summary="Lösung anlegen oder ersetzen (If-Match bei vorhandenen)",
            responses={201: {"description": "Angelegt"}, 409: {"description": "Inzwischen geändert"},
                       422: {"description": "Fehler im Datensatz"}, 428: {"description": "If-Match fehlt"}})
def put_solution(solution_id: str, request: Request, response: Response, body: Annotated[RecordBody, Body()],
                 if_match: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    data = body.model_dump()
    record, version, created, warnings = _editor(request).put(solution_id, data, if_match)
    response.status_code = 201 if created else 200
    response.headers["ETag"] = _quoted(version)
    return {"ok": True, "record": record, "version": version, "created": created, "warnings": [_problem(p) for p in warnings]}


@router.delete("/solutions/{solution_id}", summary="Lösung löschen (If-Match nötig; im Protokoll rückgängig zu machen)")
def delete_solution(solution_id: str, request: Request, if_match: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    entry = _editor(request).delete(solution_id, if_match)
    return {"ok": True, "audit": entry.n}


@router.get("/audit", summary="Änderungsprotokoll, neueste zuerst")
def audit(request: Request, solution_id: Annotated[str | None, Query(alias="id", max_length=200)] = None,
          limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    return {"ok": True, "entries": [asdict(e) for e in _editor(request).history(solution_id, limit)]}


@router.post("/audit/{n}/undo", summary="Eine Änderung rückgängig machen")
def undo(n: int, request: Request) -> dict[str, Any]:
    entry: Entry = _editor(request).undo(n)
    return {"ok": True, "audit": entry.n, "id": entry.id}


@router.post("/import", summary="CSV oder JSON Lines übernehmen; dry_run zeigt nur, was sich ändern würde",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}})
async def import_records(request: Request,
                        format: Annotated[Literal["csv", "jsonl"], Query()] = "csv",  # noqa: A002 - the query name
                        dry_run: Annotated[bool, Query()] = True,
                        remove_missing: Annotated[bool, Query(description="Lösungen löschen, die in der Datei fehlen")] = False,
                        ) -> dict[str, Any]:
    raw = await request.body()
    editor = _editor(request)
    with tempfile.TemporaryDirectory(prefix="atlas-import-") as tmp:
        path = Path(tmp) / f"upload.{format}"
        path.write_bytes(raw)
        try:
            diff = editor.diff_import(path, remove_missing) if dry_run else editor.apply_import(path, remove_missing)
        except ExchangeError as exc:
            raise EditError(str(exc).replace(str(path), "Die hochgeladene Datei")) from exc
    return _diff_body(diff, applied=not dry_run)


@router.post("/publish", status_code=202, summary="Index im Hintergrund bauen und veröffentlichen")
def publish(request: Request, body: Annotated[PublishRequest | None, Body()] = None) -> dict[str, Any]:
    job = _publisher(request).submit("retune" if body and body.retune else "publish")
    return {"ok": True, "job": asdict(job)}


@router.get("/jobs", summary="Die letzten Veröffentlichungen")
def jobs(request: Request) -> dict[str, Any]:
    return {"ok": True, "jobs": [asdict(j) for j in reversed(_publisher(request).jobs.values())]}


@router.get("/jobs/{job_id}", summary="Fortschritt und Ergebnis einer Veröffentlichung")
def job(job_id: str, request: Request) -> dict[str, Any]:
    found = _publisher(request).jobs.get(job_id)
    if found is None:
        raise RecordNotFound(f"Einen Auftrag '{job_id}' gibt es nicht (mehr).")
    return {"ok": True, "job": asdict(found)}


@router.get("/builds", summary="Veröffentlichte Stände, neueste zuerst")
def builds(request: Request) -> dict[str, Any]:
    settings = cast(Settings, request.app.state.settings)
    try:
        live = current_build(settings.index_dir).name
    except IndexNotFoundError:
        live = None
    return {"ok": True, "builds": [{
        "build": path.name, "current": path.name == live, "created": m.created if m else None,
        "count": m.count if m else None, "corpus_hash": m.corpus_hash if m else None, "model": m.model if m else None,
        "tuned": m.tuned if m else None, "readable": m is not None,
    } for path, m in list_builds(settings.index_dir)]}


@router.post("/rollback", summary="Zu einem früheren Stand zurückkehren",
             responses={409: {"description": "Gerade geht ein neuer Stand live; später erneut versuchen"}})
def rollback(request: Request, body: RollbackRequest) -> dict[str, Any]:
    settings = cast(Settings, request.app.state.settings)
    target = settings.index_dir / BUILDS / body.build
    if not (target / "manifest.json").is_file():
        raise RecordNotFound(f"Einen Stand '{body.build}' gibt es nicht (mehr).")
    going_live = _publisher(request).going_live
    if not going_live.acquire(timeout=ROLLBACK_WAIT):  # a publish would switch the live build again a moment later
        raise BuildsBusy("Gerade geht ein neuer Stand live. Versuchen Sie es in einigen Sekunden erneut; danach steht "
                         "er ebenfalls in der Liste.")
    try:
        switch_current(settings.index_dir, target)
        startup = cast("Startup", request.app.state.startup)
        served = startup.live.refresh() if startup.live else None
    finally:
        going_live.release()
    if served is None or served.build.name != body.build:
        raise EditError("Der Stand wurde eingestellt, aber der Dienst hat ihn nicht übernommen (er hat die Prüfung "
                        "beim Laden nicht bestanden); der bisherige antwortet weiter.")
    log.info("event=rollback build=%s", body.build)
    return {"ok": True, "build": body.build}


def _insights(request: Request, days: int) -> tuple[list[Group], list[dict[str, Any]], int]:
    store: FeedbackStore = request.app.state.feedback_store
    rows = store.insight_rows(days)
    startup = cast("Startup", request.app.state.startup)
    searcher = startup.current().searcher
    return group_questions(rows, searcher), demand_and_supply(rows, searcher), len(rows)


@router.get("/insights", summary="Wo der Atlas Lücken hat: Fragengruppen und Nachfrage gegen Angebot")
def insights(request: Request, days: Annotated[int, Query(ge=1, le=730)] = 90) -> dict[str, Any]:
    settings = cast(Settings, request.app.state.settings)
    groups, table, count = _insights(request, days)
    return {"ok": True, "enabled": settings.insights, "days": days, "questions": count,
            "groups": [asdict(g) for g in groups], "demand": table}


@router.get("/insights.csv", summary="Die Lücken als CSV für Redaktionssitzungen", response_class=PlainTextResponse)
def insights_download(request: Request, days: Annotated[int, Query(ge=1, le=730)] = 90) -> Response:
    groups, table, _ = _insights(request, days)
    return Response(insights_csv(groups, table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="atlas-luecken.csv"'})


def install(app: FastAPI, settings: Settings) -> None:
    """Add the admin routes, their error handler, the editor and the publisher to the app."""
    app.state.editor = Editor(settings.corpus_dir, settings.audit_log)
    app.state.publisher = Publisher(settings, lambda: app.state.startup)

    @app.exception_handler(EditError)
    async def handle_edit_error(request: Request, exc: EditError) -> Response:
        errors = [{"field": p.field, "message": f"{p.message} – {p.fix}"} for p in exc.problems]
        return JSONResponse(error_body(exc.status, exc.message, errors or None), status_code=exc.status)

    @app.exception_handler(CorpusError)
    async def handle_corpus_error(request: Request, exc: CorpusError) -> Response:
        return JSONResponse(error_body(503, str(exc)), status_code=503)

    app.include_router(router)
