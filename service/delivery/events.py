"""Writing events to the outbox, in the transaction of the change they report.

The payload carries ids, type, severity and status only — never names, PINs or notes; the
receiver fetches details with its own token, so every read of child data is audited."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.chain import canonical_time
from service.core.clock import utcnow
from service.delivery import mail
from service.delivery.models import OutboxDelivery, Webhook
from service.notices.events import NoticeEvent


class EventType(StrEnum):
    alert_routed = "alert.routed"
    alert_updated = "alert.updated"
    alert_closed = "alert.closed"
    alert_overdue = "alert.overdue"
    access_break_glass = "access.break_glass"


#: the events told to every organisation that hears of them which are also e-mail notices (to
#: the people there who asked for them); the others reach people by name (assigned, closed)
ORGANISATION_NOTICES: dict[EventType, NoticeEvent] = {
    EventType.alert_routed: NoticeEvent.alert_routed,
    EventType.alert_overdue: NoticeEvent.alert_overdue,
    EventType.access_break_glass: NoticeEvent.break_glass,
}


def alert_payload(
    event_type: EventType,
    *,
    alert_id: uuid.UUID,
    child_id: uuid.UUID,
    alert_type: str,
    severity: str,
    status: str,
    at: datetime,
) -> dict[str, Any]:
    return {
        "type": event_type.value,
        "alert_id": str(alert_id),
        "child_id": str(child_id),
        "alert_type": alert_type,
        "severity": severity,
        "status": status,
        "time": canonical_time(at),
    }


async def emit(
    session: AsyncSession,
    *,
    event_type: EventType,
    organisations: Iterable[uuid.UUID],
    payload: dict[str, Any],
    ordering_key: str,
    position: int,
) -> int:
    """Queue one delivery per subscribed webhook of `organisations`, and the e-mail notice of
    the event to the people there who asked for it; returns how many deliveries."""
    organisations = list(organisations)
    notice = ORGANISATION_NOTICES.get(event_type)
    if notice is not None:
        await mail.notify(session, event=notice, payload=payload, organisations=organisations)
    hooks = await subscribers(session, event_type, organisations)
    return await queue(session, hooks, event_type=event_type, payload=payload, ordering_key=ordering_key,
                       position=position)


async def subscribers(
    session: AsyncSession, event_type: EventType, organisations: Iterable[uuid.UUID]
) -> list[uuid.UUID]:
    """The live webhooks of `organisations` subscribed to `event_type`."""
    orgs = list(dict.fromkeys(organisations))
    if not orgs:
        return []
    hooks = (
        await session.execute(
            select(col(Webhook.id), col(Webhook.events)).where(
                col(Webhook.organisation_id).in_(orgs),
                col(Webhook.deleted_at).is_(None),
            )
        )
    ).all()
    return [hook_id for hook_id, events in hooks if event_type.value in events]


async def queue(
    session: AsyncSession,
    hooks: list[uuid.UUID],
    *,
    event_type: EventType,
    payload: dict[str, Any],
    ordering_key: str,
    position: int,
) -> int:
    """One pending delivery of the event per webhook in `hooks`; returns how many.

    A delivery's `seq` is the change's feed position, raised if need be above the last one
    queued for the same webhooks and key: positions follow commit order only across the feed
    (on PostgreSQL a change that waited for the alert's lock may carry a lower position than the
    change it waited for), and the worker sends a key's deliveries in `seq` order."""
    if not hooks:
        return 0
    last = (
        await session.execute(
            select(func.max(col(OutboxDelivery.seq))).where(
                col(OutboxDelivery.webhook_id).in_(hooks), col(OutboxDelivery.ordering_key) == ordering_key
            )
        )
    ).scalar_one()
    if last is not None and last >= position:
        position = int(last) + 1
    event_id = uuid.uuid4()
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "seq": position,
            "event_id": event_id,
            "event_type": event_type.value,
            "webhook_id": hook_id,
            "ordering_key": ordering_key,
            "payload": {"id": str(event_id), **payload},
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for hook_id in hooks
    ]
    await session.execute(insert(OutboxDelivery), rows)
    return len(rows)
