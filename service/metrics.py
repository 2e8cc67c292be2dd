"""Prometheus metrics (prometheus-client), served at /metrics only when ATLAS_METRICS_TOKEN is set.

Request counts and latencies per route, micro-batch sizes, "nothing fits" answers and the build in use. Labels carry
route templates and status codes only – never a question, an id from the path or anything about the client.
"""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class Metrics:
    """One registry per app, so several apps in one process (tests) do not share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("atlas_requests", "HTTP requests by route and status", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("atlas_request_seconds", "Request latency by route", ["route"], registry=self.registry)
        self.batch_size = Histogram("atlas_encode_batch_size", "Texts per model call (micro-batching)",
                                    buckets=BATCH_BUCKETS, registry=self.registry)
        self.no_match = Counter("atlas_no_match", "Answers where nothing fitted", registry=self.registry)
        self.build = Gauge("atlas_build_info", "The index build being served", ["build"], registry=self.registry)


def route_of(scope: Scope) -> str:
    """The route template that answered ("/api/solutions/{solution_id}"), never the concrete path."""
    route = scope.get("route")
    path = getattr(route, "path", None) or getattr(route, "path_format", None)
    if path:
        return str(path)
    return "static" if scope.get("path", "").startswith("/static/") else "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = route_of(scope)
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def read_metrics(request: Request) -> Response:
    """Prometheus text format; 404 unless ATLAS_METRICS_TOKEN is set, then only with that bearer token."""
    secret = request.app.state.settings.metrics_token
    token = secret.get_secret_value() if secret is not None else ""
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return Response(status_code=404)  # as if there were no such page: nothing to probe for
    metrics: Metrics = request.app.state.metrics
    startup = getattr(request.app.state, "startup", None)
    if startup is not None and startup.live is not None:
        metrics.build.clear()
        metrics.build.labels(startup.live.current().build.name).set(1)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
