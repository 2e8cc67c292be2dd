"""Feedback on answers: helpful or not, with an optional comment."""

from __future__ import annotations

import hashlib
import math
import secrets
import time

from fastapi import APIRouter, Request, Response
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from service import insights
from service.deps import SearcherDep, SettingsDep
from service.errors import InvalidQueryError
from service.feedback import FeedbackRateError, FeedbackRequest, FeedbackResponse, FeedbackStore
from service.limits import check_text

router = APIRouter(prefix="/api", tags=["feedback"])

_SALT = secrets.token_bytes(16)  # per process: client keys cannot be turned back into addresses, not even by us


def new_limiter() -> MovingWindowRateLimiter:
    """In memory, per app (and so per replica behind a load balancer): a limit of N per minute is N per replica."""
    return MovingWindowRateLimiter(MemoryStorage())


def client_key(request: Request) -> str:
    """A salted hash of the client address: enough to count one client's posts, useless for anything else."""
    host = request.client.host if request.client else "-"
    return hashlib.sha256(_SALT + host.encode()).hexdigest()[:32]


def check_rate(request: Request, rate: str) -> None:
    """Raises FeedbackRateError (429, with the seconds to wait) when this client posted too often."""
    limit = parse(rate)
    key = client_key(request)
    limiter: MovingWindowRateLimiter = request.app.state.feedback_limiter
    if not limiter.hit(limit, "feedback", key):
        reset = limiter.get_window_stats(limit, "feedback", key).reset_time
        raise FeedbackRateError("feedback_rate", retry_after=max(1, math.ceil(reset - time.time())))


@router.post("/feedback", status_code=201, responses={
    200: {"description": "The same rating was stored moments ago (a retry); not stored twice", "model": FeedbackResponse},
    422: {"description": "Invalid feedback"}, 429: {"description": "Too many posts from this client (see Retry-After)"},
})
def create_feedback(body: FeedbackRequest, request: Request, response: Response, searcher: SearcherDep,
                    settings: SettingsDep) -> FeedbackResponse:
    """Store a rating of one answer with the index build that produced it (no IP address, no user agent)."""
    check_text(body.query, "query", settings)
    unknown = [rid for rid in body.result_ids if searcher.get(rid) is None]
    if unknown:
        raise InvalidQueryError("feedback_unknown_solution", "result_ids", id=unknown[0])
    check_rate(request, settings.feedback_rate)
    store: FeedbackStore = request.app.state.feedback_store
    # Questions and comments are kept without e-mail addresses, phone numbers, IBANs or street addresses.
    body = body.model_copy(update={"query": insights.scrub(body.query), "comment": insights.scrub(body.comment)})
    row_id, duplicate = store.add(
        body, index_build=searcher.artifact.build_id, keep_days=settings.feedback_days, max_rows=settings.feedback_max_rows)
    if duplicate:
        response.status_code = 200
    elif not body.helpful:
        insights.keep(request, "not_helpful", body.query, searcher.artifact.build_id)
    return FeedbackResponse(ok=True, id=row_id, duplicate=duplicate)
