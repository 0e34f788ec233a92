"""The queries of the follow-up."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.absences.models import AbsenceReport, AbsenceRule
from service.alerts.details import AlertType
from service.alerts.models import Alert
from service.alerts.schemas import FollowUp

#: unexcused hours in a month above which a pupil counts as absent again, when no rule says
DEFAULT_MONTHLY_THRESHOLD = 5


async def due(session: AsyncSession, today: date, limit: int = 200) -> list[Alert]:
    """Alerts whose follow-up is due, locked (SKIP LOCKED: several workers share the work)."""
    rows = await session.execute(
        select(Alert)
        .where(col(Alert.follow_up) == FollowUp.pending.value, col(Alert.follow_up_due_on) <= today)
        .order_by(col(Alert.follow_up_due_on))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars())


async def unexcused_hours(session: AsyncSession, child_id: uuid.UUID, months: Sequence[str]) -> dict[str, int]:
    """The child's unexcused hours by month, from whichever school sent them."""
    rows = await session.execute(
        select(col(AbsenceReport.month), col(AbsenceReport.unexcused_hours)).where(
            col(AbsenceReport.child_id) == child_id, col(AbsenceReport.month).in_(list(months))
        )
    )
    found: dict[str, int] = {}
    for month, hours in rows.all():
        found[month] = max(found.get(month, 0), hours)
    return found


async def monthly_threshold(session: AsyncSession) -> int:
    rows = await session.execute(
        select(col(AbsenceRule.threshold_hours)).where(
            col(AbsenceRule.alert_type) == AlertType.unexcused_absences.value,
            col(AbsenceRule.months) == 1,
            col(AbsenceRule.enabled).is_(True),
        )
    )
    return min(rows.scalars(), default=DEFAULT_MONTHLY_THRESHOLD)
