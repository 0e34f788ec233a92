"""Registering webhook endpoints, listing them, the delivery log, and redelivery."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, audit_record, require
from service.access.principal import Principal
from service.access.vocabulary import Action, Role
from service.audit.service import record
from service.core.clock import utcnow
from service.core.problems import Conflict, NotFound, field_error
from service.core.secretbox import SecretBox
from service.delivery import repository
from service.delivery.models import Webhook
from service.delivery.schemas import (
    AttemptRead,
    DeadMailRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from service.delivery.secrets import seal
from service.delivery.urls import UnsafeURL, check_url


def _may_manage(actor: Principal, organisation_id: uuid.UUID) -> bool:
    """The platform admin manages every organisation's webhooks; a school admin its school's."""
    return Role.admin in actor.roles or actor.organisation_id == organisation_id


def _hidden(actor: Principal, decision: Decision, what: str, resource_id: uuid.UUID | None = None) -> AccessDenied:
    return AccessDenied(
        actor,
        Decision(allowed=False, action=decision.action, reason=what, deny_status=404),
        resource_type="webhook",
        resource_id=str(resource_id) if resource_id else None,
    )


async def _audit(
    session: AsyncSession, actor: Principal, decision: Decision, reason: str, webhook_id: uuid.UUID
) -> None:
    await record(session, audit_record(actor, Decision(
        allowed=True, action=decision.action, reason=reason,
    ), "webhook", webhook_id, None))


async def create(
    session: AsyncSession, *, actor: Principal, data: WebhookCreate, allow_insecure: bool, secrets_box: SecretBox
) -> WebhookCreated:
    decision = require(actor, Action.manage_webhooks)
    if not _may_manage(actor, data.organisation_id):
        raise field_error("/organisation_id", "you manage webhooks of your own organisation only")
    if not await repository.organisation_exists(session, data.organisation_id):
        raise field_error("/organisation_id", "no such organisation")
    try:
        await check_url(data.url, allow_insecure=allow_insecure)
    except UnsafeURL as exc:
        raise field_error("/url", str(exc)) from None
    signing_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    webhook_id = uuid.uuid4()
    webhook = Webhook(
        id=webhook_id,
        organisation_id=data.organisation_id,
        url=data.url,
        events=sorted({e.value for e in data.events}),
        secret=seal(secrets_box, webhook_id, signing_secret),
        created_by=actor.id,
    )
    await repository.add_webhook(session, webhook)
    await _audit(session, actor, decision, "webhook registered", webhook.id)
    return WebhookCreated(
        **WebhookRead.model_validate(webhook, from_attributes=True).model_dump(), secret=signing_secret
    )


async def list_for(
    session: AsyncSession,
    *,
    actor: Principal,
    organisation_id: uuid.UUID | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> tuple[list[WebhookRead], tuple[datetime, uuid.UUID] | None]:
    """A page of the caller's organisation's endpoints (any organisation's for the platform admin)."""
    require(actor, Action.manage_webhooks)
    if Role.admin not in actor.roles:
        organisation_id = actor.organisation_id
    hooks = await repository.webhooks(session, organisation_id, limit=limit + 1, after=after)
    page = hooks[:limit]
    last = (page[-1].created_at, page[-1].id) if len(hooks) > limit else None
    return [WebhookRead.model_validate(h, from_attributes=True) for h in page], last


async def _owned(session: AsyncSession, actor: Principal, webhook_id: uuid.UUID) -> tuple[Webhook, Decision]:
    decision = require(actor, Action.manage_webhooks)
    webhook = await repository.get_webhook(session, webhook_id)
    if webhook is None or webhook.deleted_at is not None or not _may_manage(actor, webhook.organisation_id):
        raise _hidden(actor, decision, "no such webhook of the caller's organisation", webhook_id)
    return webhook, decision


async def delete(session: AsyncSession, *, actor: Principal, webhook_id: uuid.UUID) -> None:
    """Stop delivering to the endpoint; its delivery log stays."""
    webhook, decision = await _owned(session, actor, webhook_id)
    webhook.deleted_at = utcnow()
    await repository.cancel_pending(session, webhook.id)
    await session.flush()
    await _audit(session, actor, decision, "webhook removed", webhook.id)


async def attempts(
    session: AsyncSession,
    *,
    actor: Principal,
    webhook_id: uuid.UUID,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
) -> tuple[list[AttemptRead], tuple[datetime, uuid.UUID] | None]:
    webhook, _ = await _owned(session, actor, webhook_id)
    rows = await repository.attempts(session, webhook.id, limit=limit + 1, before=before)
    page = rows[:limit]
    items = [
        AttemptRead(
            delivery_id=d.id,
            event_id=d.event_id,
            event_type=d.event_type,
            delivery_status=d.status,
            attempted_at=a.attempted_at,
            status_code=a.status_code,
            error=a.error,
            duration_ms=a.duration_ms,
        )
        for a, d in page
    ]
    last = (page[-1][0].attempted_at, page[-1][0].id) if len(rows) > limit else None
    return items, last


async def redeliver(session: AsyncSession, *, actor: Principal, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> None:
    """Send a dead-lettered (or delivered) event again, from now."""
    webhook, decision = await _owned(session, actor, webhook_id)
    delivery = await repository.get_delivery(session, delivery_id)
    if delivery is None or delivery.webhook_id != webhook.id:
        raise _hidden(actor, decision, "no such delivery of this webhook", delivery_id)
    if delivery.status in ("pending", "in_flight"):
        raise Conflict("the event is already queued for delivery")
    delivery.status, delivery.attempts, delivery.next_attempt_at, delivery.lease_until = "pending", 0, utcnow(), None
    await session.flush()
    await _audit(session, actor, decision, "webhook delivery requeued", webhook.id)


async def dead_mail(
    session: AsyncSession, *, actor: Principal, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> tuple[list[DeadMailRead], tuple[datetime, uuid.UUID] | None]:
    """The e-mail notices the worker gave up on, newest first: for the platform administrator,
    who fixes the address or the mail server and sends them again. The read is audited."""
    decision = require(actor, Action.manage_organisations)
    rows = await repository.dead_mail(session, limit=limit + 1, before=before)
    page = rows[:limit]
    await record(session, audit_record(actor, Decision(
        allowed=True, action=decision.action, reason=f"dead e-mail notices read: {len(page)}",
    ), "outbox_mail", None, None))
    items = [DeadMailRead.model_validate(row, from_attributes=True) for row in page]
    last = (page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return items, last


async def redeliver_mail(session: AsyncSession, *, actor: Principal, mail_id: uuid.UUID) -> None:
    """Queue a dead e-mail notice again, from now, with a fresh count of attempts. Only a dead
    one: a notice sent is never sent twice."""
    decision = require(actor, Action.manage_organisations)
    mail = await repository.get_mail(session, mail_id)
    if mail is None:
        raise NotFound("no such e-mail notice")
    if mail.status != "dead":
        raise Conflict(f"the notice is {mail.status}, not dead: only a dead notice is sent again")
    mail.status, mail.attempts, mail.next_attempt_at, mail.lease_until = "pending", 0, utcnow(), None
    await session.flush()
    await record(session, audit_record(actor, Decision(
        allowed=True, action=decision.action, reason="dead e-mail notice requeued",
    ), "outbox_mail", mail.id, None))
