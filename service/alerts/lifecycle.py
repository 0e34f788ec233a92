"""What recipients do with an alert: acknowledge, record actions (including referrals to a
provider under consent), answer a referral, and close. Every change needs the alert's current
`ETag` in `If-Match`, so two officers cannot overwrite each other unseen."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.consent import sharing_refusal
from service.access.policy import Decision, audit_record, refused_write
from service.access.principal import Principal
from service.access.relationships import scope_for
from service.access.vocabulary import Action, OrganisationKind, Purpose, Role
from service.alerts import deadlines, outcomes, repository
from service.alerts.changes import AlertChange, Routed, Told, record_change
from service.alerts.details import AlertType
from service.alerts.models import Alert, AlertAction, AlertRecipient
from service.alerts.schemas import (
    ActionCreate,
    ActionKind,
    AlertClose,
    AlertRead,
    RecipientState,
    ReferralAnswer,
    ReferralStatus,
)
from service.alerts.service import alert_for, audited
from service.alerts.views import alert_reads
from service.consent import repository as consents
from service.core.clock import utcnow
from service.core.problems import Conflict, PreconditionFailed, PreconditionRequired, Problem, field_error
from service.delivery.events import EventType
from service.notices.events import NoticeEvent
from service.organisations import repository as organisations

REFERRAL_PURPOSE = "support_services"


def parse_if_match(header: str | None) -> int:
    if header is None:
        raise PreconditionRequired("send If-Match with the alert's ETag to change it")
    value = header.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise PreconditionFailed("If-Match is not an ETag this service issued")
    return int(value)


@contextmanager
def _refusals_audited(actor: Principal, decision: Decision, alert: Alert) -> Iterator[None]:
    """A change refused for a stale or missing `If-Match` or a conflict with the alert's state
    is a denial in the audit trail (written by the problem handler)."""
    try:
        yield
    except Problem as problem:
        refused_write(
            actor, problem, action=decision.action.value, purpose=decision.purpose,
            resource_type="alert", resource_id=alert.id, child_id=alert.child_id,
        )
        raise


async def _respond(
    session: AsyncSession,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    if_match: str | None,
    purpose: Purpose | None,
    today: date,
) -> tuple[Alert, AlertRecipient, Decision]:
    alert, decision = await alert_for(
        session,
        actor=actor,
        alert_id=alert_id,
        action=Action.respond_to_alert,
        purpose=purpose,
        audit_action=None,  # audited with the change, by record_change
        today=today,
        for_update=True,
    )
    with _refusals_audited(actor, decision, alert):
        if parse_if_match(if_match) != alert.version:
            raise PreconditionFailed(f"the alert changed (version {alert.version}); read it again")
        if alert.status == "closed":
            raise Conflict("the alert is closed")
    recipients = (await repository.recipients_of(session, [alert.id]))[alert.id]
    # a member of the alert's team whose own organisation is no recipient works the lead's part
    mine = next((r for r in recipients if r.organisation_id == actor.organisation_id), None) or next(
        r for r in recipients if r.is_lead
    )
    return alert, mine, decision


async def _changed(
    session: AsyncSession,
    alert: Alert,
    actor: Principal,
    decision: Decision,
    audit_action: str,
    today: date,
    routed: Routed | None = None,
    told: list[Told] | None = None,
) -> AlertRead:
    """Record the change (version, audit, feed, recipients, events: `record_change`) and
    answer the alert as it now is."""
    event = EventType.alert_closed if alert.status == "closed" else EventType.alert_updated
    await record_change(
        session,
        [
            AlertChange(
                alert=alert, event=event, routed=[routed] if routed else [], told=told or [],
                audit=[audit_record(actor, audited(decision, audit_action), "alert", alert.id, alert.child_id)],
            )
        ],
        now=utcnow(),
    )
    return (await alert_reads(session, [alert], scope_for(actor, decision, today)))[0]


async def acknowledge(
    session: AsyncSession,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    if_match: str | None,
    purpose: Purpose | None,
    today: date,
) -> AlertRead:
    alert, mine, decision = await _respond(
        session,
        actor=actor,
        alert_id=alert_id,
        if_match=if_match,
        purpose=purpose,
        today=today,
    )
    with _refusals_audited(actor, decision, alert):
        if mine.acknowledged_at is not None:
            raise Conflict("your organisation already acknowledged this alert")
    mine.acknowledged_at = utcnow()
    mine.state = RecipientState.acknowledged.value
    return await _changed(session, alert, actor, decision, "alert acknowledged", today)


async def _refer(
    session: AsyncSession, *, alert: Alert, provider_id: uuid.UUID, today: date, now: datetime
) -> Routed:
    """The provider to route the alert to, under an active consent of the guardian that covers it."""
    provider = await organisations.get_organisation(session, provider_id)
    if provider is None or provider.kind != OrganisationKind.service_provider.value:
        raise field_error("/recipient_id", "referrals go to service providers")
    child_consents = await consents.for_child(session, alert.child_id)
    recipients = await consents.recipients_of(session, [c.id for c in child_consents])
    covering = [
        c
        for c in reversed(child_consents)
        if sharing_refusal(
            consents.facts(c, recipients[c.id]),
            child_id=alert.child_id,
            recipient=provider_id,
            purpose=REFERRAL_PURPOSE,
            today=today,
        )
        is None
    ]
    if not covering:
        raise field_error(
            "/recipient_id",
            "no active consent of the guardian covers sharing with this provider; record one first",
        )
    existing = (await repository.recipients_of(session, [alert.id]))[alert.id]
    if any(r.organisation_id == provider_id for r in existing):
        raise Conflict("the alert already reached this provider")
    return Routed(
        organisation_id=provider_id,
        consent_id=covering[0].id,
        referral_status=ReferralStatus.pending.value,
        due_at=await deadlines.due_at(session, alert.severity, now),
    )


#: who refers a case to the juvenile commission (DESIGN §2: police and child protection)
COMMISSION_REFERRERS = frozenset({Role.police_officer, Role.cp_officer})


async def _refer_to_commission(
    session: AsyncSession, *, alert: Alert, actor: Principal, commission_id: uuid.UUID, now: datetime
) -> Routed:
    """Route the alert to the juvenile commission of its municipality: a public body, so no
    consent; it sees this alert and nothing else of the child."""
    if not actor.roles & COMMISSION_REFERRERS:
        raise field_error("/recipient_id", "police and child protection refer cases to the juvenile commission")
    served = (await organisations.municipality_codes(session, [commission_id]))[commission_id]
    if alert.municipality_code not in served:
        raise field_error("/recipient_id", "this juvenile commission does not serve the child's municipality")
    existing = (await repository.recipients_of(session, [alert.id]))[alert.id]
    if any(r.organisation_id == commission_id for r in existing):
        raise Conflict("the alert already reached this commission")
    return Routed(organisation_id=commission_id, due_at=await deadlines.due_at(session, alert.severity, now))


def _check_absence_answer(alert: Alert, actor: Principal) -> None:
    """Only the school a `found_out_of_school` alert was routed to answers whether the absence
    was excused."""
    if alert.type != AlertType.found_out_of_school.value:
        raise field_error("/kind", "an absence_answer belongs to a found_out_of_school alert")
    if actor.organisation_kind is not OrganisationKind.school:
        raise field_error("/kind", "the child's school answers whether the absence was excused")


async def add_action(
    session: AsyncSession,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    if_match: str | None,
    purpose: Purpose | None,
    data: ActionCreate,
    today: date,
) -> AlertRead:
    alert, mine, decision = await _respond(
        session,
        actor=actor,
        alert_id=alert_id,
        if_match=if_match,
        purpose=purpose,
        today=today,
    )
    now = utcnow()
    referred = None
    if data.kind is ActionKind.absence_answer:
        _check_absence_answer(alert, actor)
    if data.kind is ActionKind.referral:
        assert data.recipient_id is not None  # noqa: S101 - the schema requires it for referrals
        target = await organisations.get_organisation(session, data.recipient_id)
        with _refusals_audited(actor, decision, alert):
            if target is not None and target.kind == OrganisationKind.juvenile_commission.value:
                referred = await _refer_to_commission(
                    session, alert=alert, actor=actor, commission_id=target.id, now=now
                )
            else:
                referred = await _refer(session, alert=alert, provider_id=data.recipient_id, today=today, now=now)
    session.add(
        AlertAction(
            alert_id=alert.id,
            organisation_id=mine.organisation_id,
            author_id=actor.id,
            kind=data.kind.value,
            text=data.text,
            result=data.result.value if data.result else None,
            recipient_id=data.recipient_id,
            absence_excused=data.absence_excused,
            restricted=data.restricted,
            created_at=now,
        )
    )
    if mine.acknowledged_at is None:
        mine.acknowledged_at = now
    if mine.state != RecipientState.done.value:
        mine.state = RecipientState.in_progress.value
    return await _changed(
        session, alert, actor, decision, f"action {data.kind.value} recorded", today, routed=referred
    )


async def answer_referral(
    session: AsyncSession,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    if_match: str | None,
    purpose: Purpose | None,
    data: ReferralAnswer,
    today: date,
) -> AlertRead:
    """The referred provider accepts (and takes the case on) or declines with a reason."""
    alert, mine, decision = await _respond(
        session,
        actor=actor,
        alert_id=alert_id,
        if_match=if_match,
        purpose=purpose,
        today=today,
    )
    with _refusals_audited(actor, decision, alert):
        if mine.referral_status != ReferralStatus.pending.value:
            raise Conflict("there is no pending referral of this alert to your organisation")
    now = utcnow()
    mine.referral_status = (ReferralStatus.accepted if data.accepted else ReferralStatus.declined).value
    mine.referral_reason = data.reason
    mine.acknowledged_at = mine.acknowledged_at or now
    if data.accepted:
        mine.state = RecipientState.acknowledged.value
    else:
        mine.state, mine.done_at = RecipientState.done.value, now
    answer = "referral accepted" if data.accepted else "referral declined"
    return await _changed(session, alert, actor, decision, answer, today)


async def close(
    session: AsyncSession,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    if_match: str | None,
    purpose: Purpose | None,
    data: AlertClose,
    today: date,
) -> AlertRead:
    """A recipient finishes its part; when the lead recipient closes, the alert closes."""
    alert, mine, decision = await _respond(
        session,
        actor=actor,
        alert_id=alert_id,
        if_match=if_match,
        purpose=purpose,
        today=today,
    )
    with _refusals_audited(actor, decision, alert):
        if mine.state == RecipientState.done.value:
            raise Conflict("your organisation already closed its part of this alert")
    now = utcnow()
    mine.state = RecipientState.done.value
    mine.outcome = data.outcome.value
    mine.done_at = now
    mine.acknowledged_at = mine.acknowledged_at or now
    if mine.is_lead:
        alert.status = "closed"
        alert.outcome = data.outcome.value
        alert.outcome_reason = data.reason
        alert.closed_at = now
        with _refusals_audited(actor, decision, alert):
            await outcomes.after_closure(session, alert=alert, actor=actor, data=data, today=today)
    # the author hears of the closure (if they asked for it), not of a part finished
    told = [Told(NoticeEvent.alert_closed, person_ids([alert.author_id]), person_ids([actor.id]))]
    return await _changed(
        session, alert, actor, decision, f"closed with outcome {data.outcome.value}", today,
        told=told if alert.status == "closed" else [],
    )


def person_ids(ids: list[str]) -> list[uuid.UUID]:
    """The ids that name people (a client's or the system's do not parse, and no user has them)."""
    found = []
    for value in ids:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue
    return found
