"""Operator endpoints: liveness, readiness and Prometheus metrics (no prefix; metrics guarded in
production, see service/health/metrics.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.core.database import Database
from service.core.migrations import current_revision
from service.core.problems import PROBLEM_JSON, NotFound, Unauthenticated, problem_responses
from service.core.settings import Settings
from service.health.metrics import bearer_matches, served_by_api

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Not ready: the database is unreachable or its schema is not at this release's head",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


@router.get("/readyz", summary="Readiness: database reachable and migrations at head", responses=_NOT_READY)
async def readyz(request: Request) -> Any:
    database: Database = request.app.state.database
    expected: str = request.app.state.expected_revision
    try:
        # Through the app's own Database (not a fresh engine connection), so the check sees the
        # database the requests use.
        async with database.transaction() as session:
            revision = await current_revision(await session.connection())
    except Exception:  # noqa: BLE001 - any failure to reach the database means not ready
        revision, reachable = None, False
    else:
        reachable = True
    ready = reachable and revision == expected
    body = {"status": "ready" if ready else "not ready", "database": reachable,
            "migrations": {"current": revision, "expected": expected}}
    if ready:
        return body
    detail = (
        f"database schema is at {revision}, this release expects {expected}"
        if reachable else "database unreachable"
    )
    # RFC 9457: `status` is the HTTP status; the readiness word is only in the 200 answer.
    problem = {**body, "type": "urn:obhvat:problem:not-ready", "title": "Service not ready",
               "status": 503, "detail": detail, "instance": request.url.path}
    return JSONResponse(problem, status_code=503, media_type=PROBLEM_JSON)


@router.get(
    "/metrics",
    summary="Prometheus metrics (in production: with OBHVAT_METRICS_TOKEN, else on OBHVAT_METRICS_PORT)",
    response_class=Response,
    responses=problem_responses(Unauthenticated, NotFound),
)
async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not served_by_api(settings):
        raise NotFound("Not Found")
    if settings.metrics_token is not None and not bearer_matches(
        request.headers.get("authorization"), settings.metrics_token
    ):
        raise Unauthenticated("a bearer token for metrics is required")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
