"""Webhooks API: endpoints, their delivery log, redelivery."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response

from service.auth.dependencies import CurrentPrincipal
from service.core.database import DbSession, api_router
from service.core.pagination import (
    CursorParam,
    Limit,
    link_next,
    time_and_id_after,
    time_and_id_before,
    time_and_id_cursor,
)
from service.core.problems import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationProblem,
    problem_responses,
)
from service.delivery import service
from service.delivery.schemas import AttemptPage, DeadMailPage, WebhookCreate, WebhookCreated, WebhookList

router = api_router(tags=["webhooks"])
_ERRORS = problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, ValidationProblem)


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses=_ERRORS,
    summary="Register an HTTPS endpoint; the signing secret is in this answer only",
)
async def create_webhook(
    body: WebhookCreate, request: Request, session: DbSession, principal: CurrentPrincipal
) -> WebhookCreated:
    return await service.create(
        session,
        actor=principal,
        data=body,
        allow_insecure=request.app.state.settings.webhooks_allow_insecure,
        secrets_box=request.app.state.webhook_secrets,
    )


@router.get("/webhooks", response_model=WebhookList, responses=_ERRORS)
async def list_webhooks(
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    organisation_id: Annotated[uuid.UUID | None, Query(description="platform admin: filter")] = None,
    limit: Limit = 50,
    after: CursorParam = None,
) -> WebhookList:
    items, last = await service.list_for(
        session, actor=principal, organisation_id=organisation_id, limit=limit, after=time_and_id_after(after)
    )
    next_cursor = time_and_id_cursor(last)
    link_next(request, response, next_cursor)
    return WebhookList(items=items, next=next_cursor)


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=_ERRORS)
async def delete_webhook(webhook_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> Response:
    await service.delete(session, actor=principal, webhook_id=webhook_id)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=AttemptPage, responses=_ERRORS)
async def deliveries(
    webhook_id: uuid.UUID,
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    after: CursorParam = None,
) -> AttemptPage:
    items, last = await service.attempts(
        session,
        actor=principal,
        webhook_id=webhook_id,
        limit=limit,
        before=time_and_id_before(after),
    )
    next_cursor = time_and_id_cursor(last)
    link_next(request, response, next_cursor)
    return AttemptPage(items=items, next=next_cursor)


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    responses=_ERRORS,
    summary="Queue a dead-lettered (or delivered) event again",
)
async def redeliver(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> Response:
    await service.redeliver(session, actor=principal, webhook_id=webhook_id, delivery_id=delivery_id)
    return Response(status_code=202)


@router.get(
    "/mail/dead-letters", response_model=DeadMailPage, responses=_ERRORS, tags=["notices"],
    summary="E-mail notices the worker gave up on, newest first (platform administrator)",
)
async def dead_mail(
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    limit: Limit = 50,
    after: CursorParam = None,
) -> DeadMailPage:
    items, last = await service.dead_mail(session, actor=principal, limit=limit, before=time_and_id_before(after))
    next_cursor = time_and_id_cursor(last)
    link_next(request, response, next_cursor)
    return DeadMailPage(items=items, next=next_cursor)


@router.post(
    "/mail/dead-letters/{mail_id}/redeliver",
    status_code=202,
    responses=_ERRORS,
    tags=["notices"],
    summary="Queue a dead e-mail notice again",
)
async def redeliver_mail(mail_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> Response:
    await service.redeliver_mail(session, actor=principal, mail_id=mail_id)
    return Response(status_code=202)
