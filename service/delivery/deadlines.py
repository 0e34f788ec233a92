"""When a recipient must acknowledge: hours or working days per severity (rules as data)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.core.clock import LOCAL_ZONE
from service.delivery.models import DeadlineRule


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
