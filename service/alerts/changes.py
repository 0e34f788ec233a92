"""The one path every change to an alert takes.

Raising an alert, acknowledging it, recording an action (a referral among them), answering a
referral, closing, marking it overdue, escalating it and an absence rule's new figures all end
in `record_change`, which does the same five things in the same order for each:

1. the version: a new alert is stored at version 1, a changed one (locked by the caller) is
   bumped and its `updated_at` moved;
2. the audit events (`service.audit.service.record_many`);
3. the feed positions (`service.alerts.feed.positions`, one per change);
4. the recipients: those already there are stamped with the change's position, those it routes
   the alert to are stored with it;
5. the outbox events: `alert.routed` to the organisations newly routed, the change's own event
   to everyone else who hears of the alert (webhooks, and e-mail notices to the people there who
   asked for them), and the e-mail notices the change owes named people (`Told`: the officer
   it was assigned to, the author of an alert it closed).

A rule kept in one function cannot be taken in another order by another caller: whatever locks
the audit trail or the feed take, every change takes them in this order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts import feed, repository
from service.alerts.models import Alert
from service.alerts.schemas import RecipientState
from service.audit.service import AuditRecord, record_many
from service.delivery import mail
from service.delivery.events import ORGANISATION_NOTICES, EventType, alert_payload, queue, subscribers
from service.notices.events import NoticeEvent


@dataclass(frozen=True, slots=True)
class Routed:
    """An organisation a change routes the alert to."""

    organisation_id: uuid.UUID
    is_lead: bool = False
    due_at: datetime | None = None
    consent_id: uuid.UUID | None = None
    referral_status: str | None = None


@dataclass(frozen=True, slots=True)
class Told:
    """An e-mail notice a change owes named people (if they asked for it), but not `exclude`
    (whoever made the change)."""

    event: NoticeEvent
    people: list[uuid.UUID]
    exclude: list[uuid.UUID] = field(default_factory=list)


@dataclass(slots=True)
class AlertChange:
    #: a new alert (not stored yet; stored here) or one the caller read `FOR UPDATE`
    alert: Alert
    #: what those already receiving the alert hear (a new alert: `alert.routed`, to its recipients)
    event: EventType
    audit: list[AuditRecord]
    routed: list[Routed] = field(default_factory=list)
    new: bool = False
    told: list[Told] = field(default_factory=list)


async def record_change(session: AsyncSession, changes: Sequence[AlertChange], *, now: datetime) -> list[int]:
    """Record `changes` (see the module docstring for the order); returns their feed positions."""
    if not changes:
        return []
    new_rows = []
    for change in changes:
        alert = change.alert
        if change.new:
            alert.version, alert.created_at, alert.updated_at = 1, now, now
            new_rows.append(alert.model_dump())
        else:
            alert.version += 1
            alert.updated_at = now
    await session.flush()
    await repository.insert_alerts(session, new_rows)

    await record_many(session, [entry for change in changes for entry in change.audit])

    positions = await feed.positions(session, len(changes))

    recipient_rows: list[dict[str, Any]] = []
    for change, position in zip(changes, positions, strict=True):
        if not change.new:
            await repository.stamp_recipients(session, change.alert.id, position)
        recipient_rows += [
            {
                "id": uuid.uuid4(),
                "alert_id": change.alert.id,
                "organisation_id": routed.organisation_id,
                "is_lead": routed.is_lead,
                "state": RecipientState.delivered.value,
                "delivered_at": now,
                "change_seq": position,
                "consent_id": routed.consent_id,
                "referral_status": routed.referral_status,
                "due_at": routed.due_at,
            }
            for routed in change.routed
        ]
    await repository.insert_recipients(session, recipient_rows)

    # the webhooks of a set of organisations, looked up once per batch: a bulk change (a list of
    # children to find) routes thousands of alerts to the same few organisations
    hooks: dict[tuple[EventType, tuple[uuid.UUID, ...]], list[uuid.UUID]] = {}
    for change, position in zip(changes, positions, strict=True):
        alert = change.alert
        routed_to = [routed.organisation_id for routed in change.routed]
        if routed_to:
            await _emit(session, alert, EventType.alert_routed, routed_to, position, hooks)
        if not change.new:
            audience = [org for org in await repository.audience(session, alert, now.date()) if org not in routed_to]
            await _emit(session, alert, change.event, audience, position, hooks)
        for told in change.told:
            await mail.notify(
                session, event=told.event, people=told.people, exclude=told.exclude,
                payload={"alert_id": str(alert.id), "alert_type": alert.type, "severity": alert.severity},
            )
    return positions


async def _emit(
    session: AsyncSession, alert: Alert, event_type: EventType, organisations: list[uuid.UUID], position: int,
    hooks: dict[tuple[EventType, tuple[uuid.UUID, ...]], list[uuid.UUID]],
) -> None:
    key = (event_type, tuple(organisations))
    if key not in hooks:
        hooks[key] = await subscribers(session, event_type, organisations)
    notice = ORGANISATION_NOTICES.get(event_type)
    if notice is not None and organisations:
        # the e-mail notice to the people of those organisations who asked for it
        await mail.notify(
            session, event=notice, organisations=organisations,
            payload={"alert_id": str(alert.id), "alert_type": alert.type, "severity": alert.severity},
        )
    await queue(
        session,
        hooks[key],
        event_type=event_type,
        ordering_key=f"alert:{alert.id}",
        position=position,
        payload=alert_payload(
            event_type,
            alert_id=alert.id,
            child_id=alert.child_id,
            alert_type=alert.type,
            severity=alert.severity,
            status=alert.status,
            at=alert.updated_at,
        ),
    )
