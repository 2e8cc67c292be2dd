"""The JSON API: health, search, chat and single solutions."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service import insights
from service.deps import ConversationDep, PresenterDep, SearcherDep, SettingsDep, StartupDep
from service.errors import SolutionNotFoundError
from service.limits import check_chat, check_search
from service.schemas import (
    ChatRequest,
    ChatResponse,
    Correction,
    HealthResponse,
    ReadyResponse,
    SearchRequest,
    SearchResponse,
    Solution,
)

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/health")
def read_health(startup: StartupDep) -> HealthResponse:
    """Liveness: the service runs; which index it serves once loaded ("starting" before; 503 if loading failed)."""
    if startup.live is None and startup.error is None:
        return HealthResponse(status="starting")
    searcher = startup.current().searcher
    manifest = searcher.artifact.manifest
    return HealthResponse(
        status="ok", model=manifest.model, tuned=manifest.tuned, solutions=searcher.count, index_created=manifest.created,
        index_build=searcher.artifact.build_id, corpus_hash=manifest.corpus_hash,
    )


@router.get("/ready", responses={503: {"description": "Model and index are still loading"}})
def read_ready(startup: StartupDep) -> ReadyResponse:
    """Readiness: 200 once the model and index are loaded, 503 before (for load balancers and orchestrators)."""
    return ReadyResponse(status="ready", index_build=startup.current().searcher.artifact.build_id)


@router.post("/search")
def search_solutions(body: SearchRequest, request: Request, searcher: SearcherDep, presenter: PresenterDep, settings: SettingsDep) -> SearchResponse:
    """Ranked solutions for a planning challenge, each with a short explanation."""
    check_search(body, settings, searcher.artifact.taxonomy)
    limit = body.limit or settings.default_limit
    result = searcher.search(body.query, limit=limit, space_type=body.space_type, themes=body.themes, status=body.status,
                             land=body.land, size_class=body.size_class)
    if result.no_match:
        request.app.state.metrics.no_match.inc()
        insights.keep(request, "no_match", body.query, searcher.artifact.build_id)
    return SearchResponse(query=body.query, space_type=body.space_type, detected_space_types=result.detected_space_types,
                          no_match=result.no_match, results=presenter.items(result),
                          corrections=[Correction(typed=typed, read_as=read) for typed, read in result.corrections])


@router.post("/chat")
def answer_chat(body: ChatRequest, request: Request, conversation: ConversationDep, settings: SettingsDep) -> ChatResponse:
    """One conversational turn: send the message and the previous answer's state; get answer, results, new state."""
    check_chat(body, settings, conversation.searcher.artifact.taxonomy)
    answer = conversation.reply(body)
    if answer.no_match:
        request.app.state.metrics.no_match.inc()
        insights.keep(request, "no_match", body.message, conversation.searcher.artifact.build_id)
    return answer


@router.get("/solutions/{solution_id}", responses={404: {"description": "Unknown solution id"}})
def read_solution(solution_id: str, searcher: SearcherDep, presenter: PresenterDep) -> Solution:
    """The full record of one solution."""
    record = searcher.get(solution_id)
    if record is None:
        raise SolutionNotFoundError("solution_not_found", "solution_id", id=solution_id)
    return Solution(**record, program_label=presenter.program(record))
