"""The auditor's API: search the trail, review emergency access."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse

from service.access.dependencies import PurposeOfUse
from service.audit.repository import EventFilter
from service.auditor import service as auditing
from service.auditor.export import access_report_csv, export_lines
from service.auditor.schemas import (
    AccessReport,
    AuditEventPage,
    BreakGlassPage,
    BreakGlassRead,
    BreakGlassReviewBody,
    CheckpointList,
    CheckpointRead,
    VerifyResult,
)
from service.auth.dependencies import CurrentPrincipal
from service.core.database import DbSession, api_router
from service.core.pagination import (
    CursorParam,
    Limit,
    encode_cursor,
    link_next,
    position_after,
    position_and_id_before,
    position_and_id_cursor,
)
from service.core.problems import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationProblem,
    problem_responses,
)
from service.core.schemas import Timestamp

router = api_router(tags=["audit"])
_ERRORS = problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, ValidationProblem)


@router.get("/audit/events", response_model=AuditEventPage, responses=_ERRORS)
async def search_events(
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    child_id: Annotated[uuid.UUID | None, Query()] = None,
    actor_id: Annotated[str | None, Query(max_length=200)] = None,
    organisation_id: Annotated[uuid.UUID | None, Query(description="the actor's organisation")] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    resource_id: Annotated[str | None, Query(max_length=100, description="e.g. an alert's id: its trail")] = None,
    decision: Annotated[str | None, Query(pattern="^(allow|deny)$")] = None,
    purpose_of_use: Annotated[str | None, Query(alias="purpose", max_length=50)] = None,
    break_glass: Annotated[bool | None, Query()] = None,
    occurred_from: Annotated[Timestamp | None, Query(alias="from", description="with a zone")] = None,
    occurred_to: Annotated[Timestamp | None, Query(alias="to", description="with a zone")] = None,
    limit: Limit = 100,
    after: CursorParam = None,
) -> AuditEventPage:
    where = EventFilter(
        child_id=child_id,
        actor_id=actor_id,
        organisation_id=organisation_id,
        action=action,
        resource_id=resource_id,
        decision=decision,
        purpose=purpose_of_use,
        break_glass=break_glass,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    items, last = await auditing.search_events(
        session, actor=principal, purpose=purpose, where=where, after_seq=position_after(after), limit=limit
    )
    next_cursor = encode_cursor([last]) if last is not None else None
    link_next(request, response, next_cursor)
    return AuditEventPage(items=items, next=next_cursor)


@router.get("/audit/break-glass", response_model=BreakGlassPage, responses=_ERRORS)
async def break_glass_queue(
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    status: Annotated[str, Query(pattern="^(pending|all)$")] = "pending",
    limit: Limit = 100,
    after: CursorParam = None,
) -> BreakGlassPage:
    items, last = await auditing.break_glass_queue(
        session,
        actor=principal,
        purpose=purpose,
        pending_only=status == "pending",
        after_seq=position_after(after),
        limit=limit,
    )
    next_cursor = encode_cursor([last]) if last is not None else None
    link_next(request, response, next_cursor)
    return BreakGlassPage(items=items, next=next_cursor)


@router.post("/audit/break-glass/{review_id}/review", response_model=BreakGlassRead, responses=_ERRORS)
async def review_break_glass(
    review_id: uuid.UUID,
    body: BreakGlassReviewBody,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
) -> BreakGlassRead:
    return await auditing.review_break_glass(session, actor=principal, purpose=purpose, review_id=review_id, data=body)


@router.get(
    "/audit/events/export",
    responses={
        **_ERRORS,
        200: {
            "description": "One event per line (`format=jsonl`) or a CSV with a header row (`format=csv`)",
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
    },
    response_class=StreamingResponse,
    summary="Stream matching events as JSON lines or CSV (spreadsheet formulas neutralised)",
)
async def export_events(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    format: Annotated[str, Query(pattern="^(jsonl|csv)$")] = "jsonl",  # noqa: A002 - the contract's name
    child_id: Annotated[uuid.UUID | None, Query()] = None,
    actor_id: Annotated[str | None, Query(max_length=200)] = None,
    organisation_id: Annotated[uuid.UUID | None, Query()] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    decision: Annotated[str | None, Query(pattern="^(allow|deny)$")] = None,
    break_glass: Annotated[bool | None, Query()] = None,
    occurred_from: Annotated[Timestamp | None, Query(alias="from", description="with a zone")] = None,
    occurred_to: Annotated[Timestamp | None, Query(alias="to", description="with a zone")] = None,
) -> StreamingResponse:
    where = EventFilter(
        child_id=child_id,
        actor_id=actor_id,
        organisation_id=organisation_id,
        action=action,
        decision=decision,
        break_glass=break_glass,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    await auditing.record_export(session, actor=principal, purpose=purpose, child_id=child_id, fmt=format)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        export_lines(request.app.state.database, where, format),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="audit-events.{format}"'},
    )


@router.get("/audit/verify", response_model=VerifyResult, responses=_ERRORS)
async def verify(session: DbSession, principal: CurrentPrincipal, purpose: PurposeOfUse) -> dict[str, Any]:
    return (await auditing.verify(session, actor=principal, purpose=purpose)).as_dict()


@router.get("/audit/checkpoints", response_model=CheckpointList, responses=_ERRORS)
async def list_checkpoints(
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    limit: Limit = 100,
    after: CursorParam = None,
) -> CheckpointList:
    items, last = await auditing.list_checkpoints(
        session, actor=principal, purpose=purpose, limit=limit, before=position_and_id_before(after)
    )
    next_cursor = position_and_id_cursor(last)
    link_next(request, response, next_cursor)
    return CheckpointList(items=items, next=next_cursor)


@router.post(
    "/audit/checkpoints",
    status_code=201,
    response_model=CheckpointRead,
    responses=_ERRORS,
    summary="Sign the chain head now (keep the answer outside the database)",
)
async def create_checkpoint(
    request: Request, session: DbSession, principal: CurrentPrincipal, purpose: PurposeOfUse
) -> CheckpointRead:
    return await auditing.create_checkpoint(
        session, actor=principal, purpose=purpose, keys=request.app.state.tokens.keys
    )


@router.get(
    "/audit/children/{child_id}/access-report",
    response_model=AccessReport,
    responses={**_ERRORS, 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def access_report(
    child_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    for_: Annotated[str | None, Query(alias="for", pattern="^guardian$")] = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",  # noqa: A002
) -> Any:
    report = await auditing.access_report(
        session, actor=principal, purpose=purpose, child_id=child_id, for_guardian=for_ == "guardian"
    )
    if format == "json":
        return report
    return Response(
        access_report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="access-report-{child_id}.csv"'},
    )
