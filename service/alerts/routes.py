"""Alerts API: raise, list, read, respond, inbox feed, routing rules."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Header, Query, Request, Response

from service.access.dependencies import PurposeOfUse
from service.access.policy import require
from service.access.vocabulary import Action
from service.alerts import assignment, lifecycle, rules, service
from service.alerts.details import AlertType
from service.alerts.schemas import (
    ActionCreate,
    AlertAssign,
    AlertClose,
    AlertCreate,
    AlertPage,
    AlertRead,
    InboxPage,
    ReferralAnswer,
    RoutingRules,
    Severity,
)
from service.auth.dependencies import CurrentPrincipal
from service.core.clock import Today
from service.core.database import DbSession, api_router
from service.core.pagination import (
    CursorParam,
    Limit,
    encode_cursor,
    flag_time_and_id_after,
    flag_time_and_id_cursor,
    link_next,
    position_after,
    time_and_id_before,
    time_and_id_cursor,
)
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
from service.core.schemas import Timestamp
from service.idempotency import service as idempotency

router = api_router(tags=["alerts"])
_READ_ERRORS = problem_responses(Unauthenticated, Forbidden, NotFound, ValidationProblem)
_WRITE_ERRORS = problem_responses(
    Unauthenticated, Forbidden, NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem
)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=100)]


def etag(version: int) -> str:
    return f'"{version}"'


@router.post("/alerts", status_code=201, response_model=AlertRead, responses=_WRITE_ERRORS)
async def raise_alert(
    body: AlertCreate,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    async def redecide(first: Any) -> None:
        await service.redecide_creation(
            session, actor=principal, data=body, purpose=purpose, today=today, alert_id=uuid.UUID(first["id"])
        )

    claim, replay = await idempotency.begin(
        session, principal_id=principal.id, key=idempotency_key, operation="alert.create", body=body,
        redecide=redecide,
    )
    if replay is not None:
        return replay
    alert = await service.create_alert(session, actor=principal, data=body, purpose=purpose, today=today)
    headers = {"ETag": etag(alert.version), "Location": f"/api/v1/alerts/{alert.id}"}
    response.headers.update(headers)
    await idempotency.remember(session, claim, status=201, body=alert, headers=headers)
    return alert


@router.get("/alerts", response_model=AlertPage, responses=_READ_ERRORS)
async def list_alerts(
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    type: Annotated[AlertType | None, Query()] = None,  # noqa: A002 - the contract's name
    severity: Annotated[Severity | None, Query()] = None,
    child_id: Annotated[uuid.UUID | None, Query()] = None,
    since: Annotated[Timestamp | None, Query(description="changed at or after (with a zone: `Z` or `+02:00`)")] = None,
    limit: Limit = 50,
    after: CursorParam = None,
) -> AlertPage:
    before = time_and_id_before(after)
    filters = {
        "status": status,
        "alert_type": type.value if type else None,
        "severity": severity.value if severity else None,
        "child_id": child_id,
        "since": since,
    }
    items, last = await service.list_alerts(
        session, actor=principal, purpose=purpose, filters=filters, before=before, limit=limit, today=today
    )
    next_cursor = time_and_id_cursor(last)
    link_next(request, response, next_cursor)
    return AlertPage(items=items, next=next_cursor)


@router.get("/alerts/{alert_id}", response_model=AlertRead, responses=_READ_ERRORS)
async def read_alert(
    alert_id: uuid.UUID,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
) -> AlertRead:
    alert = await service.read_alert(session, actor=principal, alert_id=alert_id, purpose=purpose, today=today)
    response.headers["ETag"] = etag(alert.version)
    return alert


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertRead, responses=_WRITE_ERRORS)
async def acknowledge(
    alert_id: uuid.UUID,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    if_match: IfMatch = None,
) -> AlertRead:
    alert = await lifecycle.acknowledge(
        session, actor=principal, alert_id=alert_id, if_match=if_match, purpose=purpose, today=today
    )
    response.headers["ETag"] = etag(alert.version)
    return alert


@router.post("/alerts/{alert_id}/actions", response_model=AlertRead, responses=_WRITE_ERRORS)
async def record_action(
    alert_id: uuid.UUID,
    body: ActionCreate,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    if_match: IfMatch = None,
) -> AlertRead:
    alert = await lifecycle.add_action(
        session, actor=principal, alert_id=alert_id, if_match=if_match, purpose=purpose, data=body, today=today
    )
    response.headers["ETag"] = etag(alert.version)
    return alert


@router.get(
    "/my/cases", response_model=AlertPage, responses=_READ_ERRORS,
    summary="Open alerts assigned to me or to my joint enrolment teams, overdue first",
)
async def my_cases(
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    limit: Limit = 200,
    after: CursorParam = None,
) -> AlertPage:
    items, last = await service.my_cases(
        session, actor=principal, purpose=purpose, limit=limit, today=today, after=flag_time_and_id_after(after)
    )
    next_cursor = flag_time_and_id_cursor(last)
    link_next(request, response, next_cursor)
    return AlertPage(items=items, next=next_cursor)


@router.post(
    "/alerts/{alert_id}/assign", response_model=AlertRead, responses=_WRITE_ERRORS,
    summary="Assign your organisation's part to one of its users, or an enrolment case to a joint team",
)
async def assign_alert(
    alert_id: uuid.UUID,
    body: AlertAssign,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    if_match: IfMatch = None,
) -> AlertRead:
    alert = await assignment.assign(
        session, actor=principal, alert_id=alert_id, if_match=if_match, purpose=purpose, data=body, today=today
    )
    response.headers["ETag"] = etag(alert.version)
    return alert


@router.post("/alerts/{alert_id}/close", response_model=AlertRead, responses=_WRITE_ERRORS)
async def close_alert(
    alert_id: uuid.UUID,
    body: AlertClose,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    if_match: IfMatch = None,
) -> AlertRead:
    alert = await lifecycle.close(
        session, actor=principal, alert_id=alert_id, if_match=if_match, purpose=purpose, data=body, today=today
    )
    response.headers["ETag"] = etag(alert.version)
    return alert


@router.post(
    "/alerts/{alert_id}/referral-answer",
    response_model=AlertRead,
    responses=_WRITE_ERRORS,
    summary="A referred provider accepts the case, or declines it with a reason",
)
async def answer_referral(
    alert_id: uuid.UUID,
    body: ReferralAnswer,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    if_match: IfMatch = None,
) -> AlertRead:
    alert = await lifecycle.answer_referral(
        session, actor=principal, alert_id=alert_id, if_match=if_match, purpose=purpose, data=body, today=today
    )
    response.headers["ETag"] = etag(alert.version)
    return alert


@router.get(
    "/inbox",
    response_model=InboxPage,
    responses=_READ_ERRORS,
    summary="Change feed of alerts routed to the caller's organisation (poll with ?after=next)",
)
async def read_inbox(
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    limit: Limit = 50,
    after: CursorParam = None,
) -> InboxPage:
    position = position_after(after)
    overdue, items, last = await service.inbox(
        session, actor=principal, purpose=purpose, after=position, limit=limit, today=today
    )
    next_cursor = encode_cursor([last])
    if len(items) == limit:
        link_next(request, response, next_cursor)
    return InboxPage(overdue=overdue, items=items, next=next_cursor)


@router.get("/routing-rules", response_model=RoutingRules, responses=_READ_ERRORS, tags=["rules"])
async def read_routing_rules(session: DbSession, principal: CurrentPrincipal) -> RoutingRules:
    require(principal, Action.manage_rules)
    return await rules.read(session)


@router.put("/routing-rules", response_model=RoutingRules, responses=_READ_ERRORS, tags=["rules"])
async def replace_routing_rules(body: RoutingRules, session: DbSession, principal: CurrentPrincipal) -> RoutingRules:
    require(principal, Action.manage_rules)
    return await rules.replace(session, actor=principal, data=body)
