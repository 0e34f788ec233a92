"""Every query of webhooks, the outbox and the attempt log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.delivery.models import DeliveryAttempt, OutboxDelivery, OutboxMail, Webhook
from service.organisations.models import Organisation


async def organisation_exists(session: AsyncSession, organisation_id: uuid.UUID) -> bool:
    return await session.get(Organisation, organisation_id) is not None


async def add_webhook(session: AsyncSession, webhook: Webhook) -> None:
    session.add(webhook)
    await session.flush()


async def get_webhook(session: AsyncSession, webhook_id: uuid.UUID) -> Webhook | None:
    return await session.get(Webhook, webhook_id)


async def webhooks(
    session: AsyncSession, organisation_id: uuid.UUID | None, *, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[Webhook]:
    """Oldest first, keyset on (created_at, id)."""
    query = (
        select(Webhook)
        .where(col(Webhook.deleted_at).is_(None))
        .order_by(col(Webhook.created_at), col(Webhook.id))
        .limit(limit)
    )
    if organisation_id is not None:
        query = query.where(col(Webhook.organisation_id) == organisation_id)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(col(Webhook.created_at) > at, and_(col(Webhook.created_at) == at, col(Webhook.id) > last_id))
        )
    return list((await session.execute(query)).scalars())


async def cancel_pending(session: AsyncSession, webhook_id: uuid.UUID) -> None:
    """Everything not yet settled, including what a worker is sending right now: its outcome is
    logged, but a failure is not retried (see Worker.record)."""
    await session.execute(
        update(OutboxDelivery)
        .where(
            col(OutboxDelivery.webhook_id) == webhook_id,
            col(OutboxDelivery.status).in_(("pending", "in_flight")),
        )
        .values(status="cancelled", lease_until=None)
    )


async def get_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> OutboxDelivery | None:
    return await session.get(OutboxDelivery, delivery_id)


async def attempts(
    session: AsyncSession, webhook_id: uuid.UUID, *, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[tuple[DeliveryAttempt, OutboxDelivery]]:
    """Newest first, keyset on (attempted_at, id)."""
    query = (
        select(DeliveryAttempt, OutboxDelivery)
        .join(OutboxDelivery, col(OutboxDelivery.id) == col(DeliveryAttempt.delivery_id))
        .where(col(DeliveryAttempt.webhook_id) == webhook_id)
    )
    if before is not None:
        at, last_id = before
        query = query.where(
            or_(
                col(DeliveryAttempt.attempted_at) < at,
                and_(col(DeliveryAttempt.attempted_at) == at, col(DeliveryAttempt.id) < last_id),
            )
        )
    query = query.order_by(col(DeliveryAttempt.attempted_at).desc(), col(DeliveryAttempt.id).desc()).limit(limit)
    return [(row[0], row[1]) for row in await session.execute(query)]


async def dead_mail(
    session: AsyncSession, *, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[OutboxMail]:
    """Dead e-mail notices, newest first, keyset on (created_at, id)."""
    query = select(OutboxMail).where(col(OutboxMail.status) == "dead")
    if before is not None:
        at, last_id = before
        query = query.where(
            or_(
                col(OutboxMail.created_at) < at,
                and_(col(OutboxMail.created_at) == at, col(OutboxMail.id) < last_id),
            )
        )
    query = query.order_by(col(OutboxMail.created_at).desc(), col(OutboxMail.id).desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def get_mail(session: AsyncSession, mail_id: uuid.UUID) -> OutboxMail | None:
    return await session.get(OutboxMail, mail_id)
