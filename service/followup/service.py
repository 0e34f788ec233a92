"""Deciding the follow-up of alerts closed with `returned_to_school` or `enrolled_first_time`
(worker job), and the school's answer where it is asked."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.principal import Principal, PrincipalKind
from service.access.vocabulary import Action, Purpose
from service.alerts import repository as alerts
from service.alerts.changes import AlertChange, Routed, record_change
from service.alerts.lifecycle import _changed, _refusals_audited, parse_if_match
from service.alerts.models import Alert
from service.alerts.outcomes import FOLLOW_UP_MONTHS
from service.alerts.schemas import AlertRead, FollowUp, FollowUpAnswer, RecipientState
from service.alerts.service import alert_for
from service.audit.service import AuditRecord
from service.children import repository as children
from service.core.clock import LOCAL_ZONE, utcnow
from service.core.database import Database
from service.core.problems import Conflict, PreconditionFailed
from service.delivery.events import EventType
from service.followup import repository

#: the actor the audit trail names for decisions the worker takes
FOLLOW_UP_WORKER = Principal(id="worker:follow-up", kind=PrincipalKind.system, roles=frozenset())


def window(alert: Alert) -> list[str]:
    """The whole months that decide (YYYY-MM): the three before the month the follow-up is due
    in, which are the three after the month of closure."""
    assert alert.follow_up_due_on is not None  # noqa: S101 - only alerts with a follow-up get here
    due = alert.follow_up_due_on.year * 12 + alert.follow_up_due_on.month - 1  # counted from month 0
    return [f"{m // 12}-{m % 12 + 1:02d}" for m in range(due - FOLLOW_UP_MONTHS, due)]


async def _decide_one(session: AsyncSession, alert: Alert, today: date, threshold: int) -> str:
    """Decide or ask; returns the audit reason."""
    enrolment = await children.current_enrolment(session, alert.child_id, today)
    months = window(alert)
    figures = await repository.unexcused_hours(session, alert.child_id, months)
    now = utcnow()
    routed: list[Routed] = []
    if enrolment is None:
        alert.follow_up, reason = FollowUp.dropped_again.value, "dropped again: enrolled at no school"
    elif figures:
        over = sorted(m for m, hours in figures.items() if hours > threshold)
        alert.follow_up = (FollowUp.dropped_again if over else FollowUp.retained).value
        reason = (f"{alert.follow_up} from the absence feed: {len(figures)} month(s), "
                  f"{len(over)} over {threshold} unexcused hours")
    else:
        alert.follow_up, reason = FollowUp.asked.value, "no absence figures: the school is asked"
        recipients = (await alerts.recipients_of(session, [alert.id]))[alert.id]
        if all(r.organisation_id != enrolment.school_id for r in recipients):
            routed.append(Routed(organisation_id=enrolment.school_id))
        else:
            school = next(r for r in recipients if r.organisation_id == enrolment.school_id)
            school.state, school.done_at = RecipientState.delivered.value, None
    if alert.follow_up != FollowUp.asked.value:
        alert.follow_up_decided_at = now
    await record_change(
        session,
        [
            AlertChange(
                alert=alert, event=EventType.alert_updated, routed=routed,
                audit=[AuditRecord(
                    actor=FOLLOW_UP_WORKER, action="alert.follow_up", decision="allow", reason=reason,
                    resource_type="alert", resource_id=str(alert.id), child_id=alert.child_id,
                    purpose="enrolment_followup", basis=alert.legal_basis,
                )],
            )
        ],
        now=now,
    )
    return reason


async def decide_due(session: AsyncSession, *, today: date) -> int:
    """Decide the follow-ups that are due; returns how many."""
    due = await repository.due(session, today)
    if not due:
        return 0
    threshold = await repository.monthly_threshold(session)
    for alert in due:
        await _decide_one(session, alert, today, threshold)
    return len(due)


async def run_due(database: Database, today: date | None = None) -> int:
    """The worker's job: one transaction per round."""
    async with database.transaction() as session:
        return await decide_due(session, today=today or utcnow().astimezone(LOCAL_ZONE).date())


async def answer(
    session: AsyncSession,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    if_match: str | None,
    purpose: Purpose | None,
    data: FollowUpAnswer,
    today: date,
) -> AlertRead:
    """The child's school says whether the pupil stayed."""
    alert, decision = await alert_for(
        session, actor=actor, alert_id=alert_id, action=Action.answer_follow_up, purpose=purpose,
        audit_action=None, today=today, for_update=True,  # audited with the change
    )
    with _refusals_audited(actor, decision, alert):
        if parse_if_match(if_match) != alert.version:
            raise PreconditionFailed(f"the alert changed (version {alert.version}); read it again")
        if alert.follow_up != FollowUp.asked.value:
            raise Conflict("no follow-up of this alert is waiting for an answer")
    now = utcnow()
    alert.follow_up, alert.follow_up_decided_at = data.result, now
    recipients = (await alerts.recipients_of(session, [alert.id]))[alert.id]
    mine = next(r for r in recipients if r.organisation_id == actor.organisation_id)
    mine.state, mine.done_at = RecipientState.done.value, now
    mine.acknowledged_at = mine.acknowledged_at or now
    return await _changed(session, alert, actor, decision, f"follow-up answered: {data.result}", today)
