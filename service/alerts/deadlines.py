"""Acknowledgement deadlines: when a recipient must acknowledge (hours or working days per
severity, rules as data), and the sweep `obhvat worker` runs to mark and escalate those that
let the deadline pass."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.access.principal import Principal, PrincipalKind
from service.alerts import repository
from service.alerts.changes import AlertChange, Routed, record_change
from service.alerts.models import Alert, DeadlineRule
from service.audit.service import AuditRecord
from service.core.clock import LOCAL_ZONE, utcnow
from service.core.database import Database
from service.delivery.events import EventType


def add_working_days(start: datetime, days: int) -> datetime:
    """`days` working days (Monday to Friday, local time) after `start`. Public holidays are
    not modelled."""
    local = start.astimezone(LOCAL_ZONE)
    while days > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            days -= 1
    return local.astimezone(start.tzinfo)


async def deadline_rule(session: AsyncSession, severity: str) -> DeadlineRule | None:
    query = select(DeadlineRule).where(col(DeadlineRule.severity) == severity)
    return (await session.execute(query)).scalar_one_or_none()


async def due_at(session: AsyncSession, severity: str, delivered_at: datetime) -> datetime | None:
    return due_by(await deadline_rule(session, severity), delivered_at)


def due_by(rule: DeadlineRule | None, delivered_at: datetime) -> datetime | None:
    """When a recipient delivered at `delivered_at` must acknowledge under `rule`."""
    if rule is None:
        return None
    if rule.hours is not None:
        return delivered_at + timedelta(hours=rule.hours)
    if rule.working_days is not None:
        return add_working_days(delivered_at, rule.working_days)
    return None


#: who marks alerts overdue and escalates them: `obhvat worker`, in the audit trail
SWEEPER = Principal(id="worker", kind=PrincipalKind.system, roles=frozenset())


async def sweep(database: Database, *, limit: int = 500) -> int:
    """Mark recipients that let their deadline pass; tell everyone concerned; escalate overdue
    alerts to the organisations the escalation rules name for their severity and municipality.
    Returns how many recipients were marked. Each alert changes through `record_change`, like
    any other change."""
    now = utcnow()
    async with database.transaction() as session:
        rows = await repository.overdue_recipients(session, now, limit=limit)
        overdue: dict[uuid.UUID, Alert] = {}
        for recipient, alert in rows:
            recipient.overdue_at = now
            overdue[alert.id] = alert
        changes = [await _overdue(session, alert, now) for alert in overdue.values()]
        await record_change(session, changes, now=now)
    return len(rows)


async def _overdue(session: AsyncSession, alert: Alert, now: datetime) -> AlertChange:
    """The change marking `alert` overdue, escalated to the organisations the rules name that
    do not have it yet."""
    targets = await repository.escalation_targets(session, alert.severity, alert.municipality_code)
    present = {r.organisation_id for r in (await repository.recipients_of(session, [alert.id]))[alert.id]}
    added = [org for org in dict.fromkeys(targets) if org not in present]
    due = await due_at(session, alert.severity, now) if added else None
    audit = [
        AuditRecord(
            actor=SWEEPER,
            action="alert.overdue",
            decision="allow",
            reason="acknowledgement deadline passed",
            resource_type="alert",
            resource_id=str(alert.id),
            child_id=alert.child_id,
            basis=alert.legal_basis,
        )
    ]
    audit += [
        AuditRecord(
            actor=SWEEPER,
            action="alert.escalate",
            decision="allow",
            reason=f"escalated to organisation {org}",
            resource_type="alert",
            resource_id=str(alert.id),
            child_id=alert.child_id,
            basis=alert.legal_basis,
        )
        for org in added
    ]
    return AlertChange(
        alert=alert,
        event=EventType.alert_overdue,
        audit=audit,
        routed=[Routed(organisation_id=org, due_at=due) for org in added],
    )
