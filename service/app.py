"""The application factory: `create_app(settings)` wires settings, database, keys and routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TextIO

import structlog
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from service.absences.routes import router as absences_router
from service.access.policy import audit_entry_of, refused_write
from service.access.principal import Principal
from service.alerts.deadline_routes import router as deadline_rules_router
from service.alerts.routes import router as alerts_router
from service.audit import sequencer
from service.auditor.routes import router as audit_router
from service.auth.anonymous import AnonymousRequests, AnonymousThrottled
from service.auth.gate import BearerGate
from service.auth.keys import KeyRing, pin_secret_for
from service.auth.routes import JWKS_PATH, well_known
from service.auth.routes import router as auth_router
from service.auth.service import record_refusal
from service.auth.tokens import TokenService
from service.children.routes import router as children_router
from service.consent.routes import router as consent_router
from service.core.database import Database, create_engine
from service.core.headers import SecurityHeadersMiddleware
from service.core.logging import configure_logging
from service.core.middleware import RequestMiddleware
from service.core.migrations import head_revision
from service.core.passwords import Passwords
from service.core.problems import (
    BadRequest,
    PayloadTooLarge,
    Problem,
    TooManyRequests,
    install_problem_handlers,
    problem_response,
    problem_responses,
)
from service.core.settings import Environment, Settings, load_settings
from service.delivery.routes import router as delivery_router
from service.delivery.secrets import webhook_secret_box
from service.followup.routes import router as followup_router
from service.health.metrics import start_listener
from service.health.routes import router as health_router
from service.notices.routes import router as notices_router
from service.organisations.routes import router as organisations_router
from service.reports.routes import router as reports_router
from service.teams.routes import router as teams_router
from service.web.console import install_console
from service.web.errors import is_console_request, problem_page
from service.worklists.routes import router as worklists_router

log = structlog.get_logger("service.app")
ANONYMOUS_FLUSH_SECONDS = 15.0

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["type", "title", "status"],
}


def _audit_refused_write(exc: Problem, request: Request) -> None:
    """A refused write (409, 412, 428) raised without an event of its own is still a decision
    about the authenticated caller: audited against the route and the resource in its path."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        return
    route = request.scope.get("route")
    action = f"{request.method} {getattr(route, 'path', request.url.path)}"[:100]
    ids = [(name, value) for name, value in request.path_params.items() if name.endswith("_id")]
    resource_type, resource_id = (ids[-1][0].removesuffix("_id"), str(ids[-1][1])) if ids else (None, None)
    refused_write(principal, exc, action=action, resource_type=resource_type, resource_id=resource_id)


def _install_audited_problems(app: FastAPI) -> None:
    """Denials are written to the audit trail in their own transaction (the request's own
    transaction has been rolled back) before the answer is sent."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)  # noqa: S101 - registered for Problem only
        _audit_refused_write(exc, request)
        delay = 0.0
        if audit_entry_of(exc) is not None:
            async with request.app.state.database.transaction() as session:
                delay = await record_refusal(session, exc)
        if isinstance(exc, AnonymousThrottled):
            delay = exc.hold_seconds
        if delay:
            await asyncio.sleep(delay)  # a failed login is answered slower and slower
        if is_console_request(request):
            return await problem_page(request, exc)
        return problem_response(exc, request)

    app.add_exception_handler(Problem, on_problem)


async def _flush_anonymous_counts(anonymous: AnonymousRequests, database: Database) -> None:
    """Every few seconds, the counts of anonymous requests of the minutes that have ended go to
    the audit trail (kept for the next try when the database is down)."""
    while True:
        await asyncio.sleep(ANONYMOUS_FLUSH_SECONDS)
        try:
            await anonymous.flush(database)
        except Exception:  # noqa: BLE001 - the counts are kept; the next round tries again
            log.warning("anonymous_counts_not_written", exc_info=True)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    # A malformed request (a NUL in the query string, a body that is not UTF-8) is refused
    # before any route runs, so every operation may answer 400; a body over the limit is
    # refused the same way, so every operation that takes one may answer 413.
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            refusals: tuple[type[Problem], ...] = (BadRequest,)
            if "requestBody" in operation:
                refusals = (*refusals, PayloadTooLarge)
            # an operation that needs a token may answer 429 to a client sending none that is valid
            if "401" in operation.get("responses", {}):
                refusals = (*refusals, TooManyRequests)
            for status, response in problem_responses(*refusals).items():
                operation.setdefault("responses", {}).setdefault(str(status), response)
    app.openapi_schema = schema
    return schema


class _Obhvat(FastAPI):
    """The API, with its OpenAPI document completed by `_openapi`."""

    def openapi(self) -> dict[str, Any]:
        return _openapi(self)
def _public_documents(app: FastAPI) -> set[str]:
    """Paths a cache may keep: the signing keys and the API description, no child data."""
    documents = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    return {path for path in documents if path} | {JWKS_PATH}


def create_app(
    settings: Settings, *, database: Database | None = None, log_stream: TextIO | None = None
) -> FastAPI:
    """Build the API. Tests pass their own `database` (bound to a rolled-back transaction) and
    a `log_stream` they can search."""
    configure_logging(level=settings.log_level, fmt=settings.log_format, stream=log_stream)
    keys_dir = settings.effective_keys_dir
    keys = KeyRing.from_directory(keys_dir)
    own_database = database is None
    database = database or Database(
        create_engine(settings.effective_database_url, pool_size=settings.db_pool_size)
    )

    anonymous = AnonymousRequests(
        burst=settings.anonymous_burst,
        per_minute=settings.anonymous_per_minute,
        hold_seconds=settings.anonymous_hold_seconds,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        flusher = asyncio.create_task(_flush_anonymous_counts(anonymous, database))
        linker = (
            None
            if database.link_in_request
            else asyncio.create_task(sequencer.run(database, interval=settings.audit_link_seconds))
        )
        listener = (
            start_listener(settings.metrics_host, settings.metrics_port, token=settings.metrics_token)
            if settings.metrics_port is not None
            else None
        )
        try:
            yield
        finally:
            if listener is not None:
                listener.stop()
            for task in (flusher, linker):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await anonymous.flush(database, everything=True)  # the minute in progress is not lost
            if own_database:
                await database.dispose()

    app = _Obhvat(
        title="Obhvat",
        version="0.1.0",
        description="Interagency child-at-risk data exchange service",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.anonymous_requests = anonymous
    tokens = app.state.tokens = TokenService(settings, keys)
    app.state.passwords = Passwords(
        time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
    )
    app.state.pin_secret = pin_secret_for(settings)
    app.state.webhook_secrets = webhook_secret_box(settings)
    app.state.expected_revision = head_revision()

    install_problem_handlers(app)
    _install_audited_problems(app)
    # innermost: a bearer token that cannot be trusted is refused before routing
    app.add_middleware(BearerGate, tokens=tokens, anonymous=anonymous)
    app.add_middleware(
        RequestMiddleware, max_body=settings.max_body_bytes, max_csv_body=settings.max_csv_body_bytes
    )
    app.add_middleware(  # outermost: the requests middleware's own refusals get the headers too
        SecurityHeadersMiddleware,
        public_paths=_public_documents(app),
        production=settings.environment is Environment.production,
    )
    app.include_router(health_router)
    app.include_router(well_known)
    app.include_router(auth_router)
    app.include_router(organisations_router)
    app.include_router(children_router)
    app.include_router(alerts_router)
    app.include_router(consent_router)
    app.include_router(audit_router)
    app.include_router(absences_router)
    app.include_router(delivery_router)
    app.include_router(deadline_rules_router)
    app.include_router(reports_router)
    app.include_router(teams_router)
    app.include_router(followup_router)
    app.include_router(worklists_router)
    app.include_router(notices_router)
    install_console(app)  # the web console at /, over the same services
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory` (used by `obhvat serve`)."""
    return create_app(load_settings())
