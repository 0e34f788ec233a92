"""The auditor's API: search the trail, review emergency access."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query, Request, Response

from service.access.dependencies import PurposeOfUse
from service.audit import auditing
from service.audit.repository import EventFilter
from service.audit.schemas import (
    AuditEventPage,
    BreakGlassPage,
    BreakGlassRead,
    BreakGlassReviewBody,
)
from service.auth.dependencies import CurrentPrincipal
from service.core.database import DbSession, api_router
from service.core.pagination import CursorParam, Limit, decode_cursor, encode_cursor, link_next
from service.core.problems import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationProblem,
    problem_responses,
)

router = api_router(tags=["audit"])
_ERRORS = problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, ValidationProblem)


def _after_seq(cursor: str | None) -> int:
    key = decode_cursor(cursor)
    if key is None:
        return 0
    if not isinstance(key[0], int) or key[0] < 0:
        decode_cursor("!")
    return int(key[0])


@router.get("/audit/events", response_model=AuditEventPage, responses=_ERRORS)
async def search_events(
    request: Request, response: Response, session: DbSession, principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    child_id: Annotated[uuid.UUID | None, Query()] = None,
    actor_id: Annotated[str | None, Query(max_length=200)] = None,
    organisation_id: Annotated[uuid.UUID | None, Query(description="the actor's organisation")] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    decision: Annotated[str | None, Query(pattern="^(allow|deny)$")] = None,
    purpose_of_use: Annotated[str | None, Query(alias="purpose", max_length=50)] = None,
    break_glass: Annotated[bool | None, Query()] = None,
    occurred_from: Annotated[datetime | None, Query(alias="from")] = None,
    occurred_to: Annotated[datetime | None, Query(alias="to")] = None,
    limit: Limit = 100, after: CursorParam = None,
) -> AuditEventPage:
    where = EventFilter(
        child_id=child_id, actor_id=actor_id, organisation_id=organisation_id, action=action,
        decision=decision, purpose=purpose_of_use, break_glass=break_glass,
        occurred_from=occurred_from, occurred_to=occurred_to,
    )
    items, last = await auditing.search_events(
        session, actor=principal, purpose=purpose, where=where, after_seq=_after_seq(after), limit=limit
    )
    next_cursor = encode_cursor([last]) if last is not None else None
    link_next(request, response, next_cursor)
    return AuditEventPage(items=items, next=next_cursor)


@router.get("/audit/break-glass", response_model=BreakGlassPage, responses=_ERRORS)
async def break_glass_queue(
    request: Request, response: Response, session: DbSession, principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    status: Annotated[str, Query(pattern="^(pending|all)$")] = "pending",
    limit: Limit = 100, after: CursorParam = None,
) -> BreakGlassPage:
    items, last = await auditing.break_glass_queue(
        session, actor=principal, purpose=purpose, pending_only=status == "pending",
        after_seq=_after_seq(after), limit=limit,
    )
    next_cursor = encode_cursor([last]) if last is not None else None
    link_next(request, response, next_cursor)
    return BreakGlassPage(items=items, next=next_cursor)


@router.post("/audit/break-glass/{review_id}/review", response_model=BreakGlassRead, responses=_ERRORS)
async def review_break_glass(
    review_id: uuid.UUID, body: BreakGlassReviewBody, session: DbSession, principal: CurrentPrincipal,
    purpose: PurposeOfUse,
) -> BreakGlassRead:
    return await auditing.review_break_glass(
        session, actor=principal, purpose=purpose, review_id=review_id, data=body
    )
