"""Feedback on answers: helpful or not, with an optional comment."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import SearcherDep, SettingsDep
from service.errors import InvalidQueryError
from service.feedback import FeedbackRequest, FeedbackResponse, FeedbackStore

router = APIRouter(prefix="/api", tags=["feedback"])


@router.post("/feedback", status_code=201, responses={422: {"description": "Invalid feedback"}})
def create_feedback(body: FeedbackRequest, searcher: SearcherDep, settings: SettingsDep) -> FeedbackResponse:
    """Store a rating of one answer with the index build that produced it (no IP address, no user agent)."""
    unknown = [rid for rid in body.result_ids if searcher.get(rid) is None]
    if unknown:
        raise InvalidQueryError("feedback_unknown_solution", "result_ids", id=unknown[0])
    row_id = FeedbackStore(settings.feedback_db).add(body, index_build=searcher.artifact.build_id)
    return FeedbackResponse(ok=True, id=row_id)
