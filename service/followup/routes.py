"""Follow-up API: the school's answer, three months after a child returned or was enrolled."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Header, Response

from service.access.dependencies import PurposeOfUse
from service.alerts.schemas import AlertRead, FollowUpAnswer
from service.auth.dependencies import CurrentPrincipal
from service.core.clock import Today
from service.core.database import DbSession, api_router
from service.core.problems import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unauthenticated,
    ValidationProblem,
    problem_responses,
)
from service.followup import service

router = api_router(tags=["alerts"])


@router.post(
    "/alerts/{alert_id}/follow-up", response_model=AlertRead,
    responses=problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, PreconditionFailed,
                                PreconditionRequired, ValidationProblem),
    summary="The school answers whether a pupil who returned or was enrolled stayed (retained or dropped_again)",
)
async def answer_follow_up(
    alert_id: uuid.UUID, body: FollowUpAnswer, response: Response, session: DbSession, principal: CurrentPrincipal,
    purpose: PurposeOfUse, today: Today,
    if_match: Annotated[str | None, Header(alias="If-Match", max_length=100)] = None,
) -> AlertRead:
    alert = await service.answer(
        session, actor=principal, alert_id=alert_id, if_match=if_match, purpose=purpose, data=body, today=today
    )
    response.headers["ETag"] = f'"{alert.version}"'
    return alert
