"""Guardian consent API."""

from __future__ import annotations

import uuid

from fastapi import Request, Response

from service.access.dependencies import PurposeOfUse
from service.auth.dependencies import CurrentPrincipal
from service.consent import service
from service.consent.schemas import ConsentCreate, ConsentList, ConsentRead, ConsentWithdraw
from service.core.clock import Today
from service.core.database import DbSession, api_router
from service.core.pagination import CursorParam, Limit, link_next, time_and_id_after, time_and_id_cursor
from service.core.problems import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationProblem,
    problem_responses,
)

router = api_router(tags=["consent"])
_ERRORS = problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, ValidationProblem)


@router.post("/children/{child_id}/consents", status_code=201, response_model=ConsentRead, responses=_ERRORS)
async def record_consent(
    child_id: uuid.UUID,
    body: ConsentCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
) -> ConsentRead:
    return await service.record(session, actor=principal, child_id=child_id, data=body, purpose=purpose, today=today)


@router.get("/children/{child_id}/consents", response_model=ConsentList, responses=_ERRORS)
async def list_consents(
    child_id: uuid.UUID,
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    limit: Limit = 50,
    after: CursorParam = None,
) -> ConsentList:
    items, last = await service.list_for_child(
        session, actor=principal, child_id=child_id, purpose=purpose, today=today, limit=limit,
        after=time_and_id_after(after),
    )
    next_cursor = time_and_id_cursor(last)
    link_next(request, response, next_cursor)
    return ConsentList(items=items, next=next_cursor)


@router.post("/consents/{consent_id}/withdraw", response_model=ConsentRead, responses=_ERRORS)
async def withdraw_consent(
    consent_id: uuid.UUID,
    body: ConsentWithdraw,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
) -> ConsentRead:
    return await service.withdraw(
        session, actor=principal, consent_id=consent_id, data=body, purpose=purpose, today=today
    )
