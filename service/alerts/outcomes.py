"""What closing an alert with an outcome of the national mechanism sets in motion (DESIGN §3):
a child who returned to school or was enrolled is followed up three months later, and a family
that moved within the country becomes a child to find in the destination municipality."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.principal import Principal
from service.alerts import repository
from service.alerts.details import AlertType
from service.alerts.models import Alert
from service.alerts.schemas import FOLLOWED_UP_OUTCOMES, AlertClose, FollowUp, Outcome
from service.alerts.service import _insert_alert, _route
from service.children import repository as children
from service.core.problems import field_error

#: whole months of school after the closure that decide whether the child stayed
FOLLOW_UP_MONTHS = 3


def follow_up_due_on(closed_on: date) -> date:
    """The first day after the three whole months that follow the month of closure: closed in
    December, the figures of January, February and March decide, on 1 April."""
    months = closed_on.year * 12 + closed_on.month - 1 + FOLLOW_UP_MONTHS + 1
    return date(months // 12, months % 12 + 1, 1)


def school_year_of(day: date) -> str:
    """The school year (September to August) a day falls in, as YYYY/YYYY."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}/{start + 1}"


def not_enrolled_key(school_year: str) -> str:
    """The rule key of the one `not_enrolled` alert per child and school year."""
    return f"{AlertType.not_enrolled.value}:{school_year}"


async def after_closure(
    session: AsyncSession, *, alert: Alert, actor: Principal, data: AlertClose, today: date
) -> None:
    """Called as the lead recipient closes `alert` (in the same transaction)."""
    if data.outcome in FOLLOWED_UP_OUTCOMES:
        alert.follow_up = FollowUp.pending.value
        alert.follow_up_due_on = follow_up_due_on(today)
    if data.outcome is Outcome.moved_within_country:
        assert data.destination_municipality_code is not None  # noqa: S101 - the schema requires it
        await _raise_at_destination(session, alert=alert, actor=actor, destination=data.destination_municipality_code,
                                    today=today)


async def _raise_at_destination(
    session: AsyncSession, *, alert: Alert, actor: Principal, destination: str, today: date
) -> None:
    """The child now lives in `destination`: its address municipality changes, and a
    `not_enrolled` alert is routed there (unless one for this school year is already open)."""
    if destination == alert.municipality_code:
        raise field_error("/destination_municipality_code", "the family moved within the same municipality")
    child = await children.lock_child(session, alert.child_id)
    if child is None:
        raise field_error("/destination_municipality_code", "the child no longer exists")
    child.municipality_code = destination
    key = not_enrolled_key(school_year_of(today))
    if await repository.open_alerts_by_keys(session, [(child.id, key)]):
        return
    recipients, basis, forced, deadline = await _route(session, AlertType.not_enrolled, destination, "concern")
    raised, _ = await _insert_alert(
        session,
        actor=actor,
        child_id=child.id,
        municipality_code=destination,
        alert_type=AlertType.not_enrolled.value,
        severity=forced or "concern",
        details={"school_year": school_year_of(today)},
        note=None,
        basis=basis,
        consent_id=None,
        recipients=recipients,
        deadline=deadline,
        purpose=None,
    )
    await repository.set_dedup_key(session, raised.id, key)
