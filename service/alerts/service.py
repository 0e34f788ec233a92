"""Raising alerts, routing them, their lifecycle, and what each organisation may see of them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, audit_record, decide, enforce
from service.access.principal import Principal
from service.access.relationships import AccessScope, decide_alert, decide_child, scope_for
from service.access.vocabulary import Action, OrganisationKind, Purpose
from service.alerts import repository
from service.alerts.details import DETAILS_MODELS, AlertType
from service.alerts.models import Alert, AlertAction, AlertRecipient
from service.alerts.schemas import (
    ActionCreate,
    ActionKind,
    ActionRead,
    AlertClose,
    AlertCreate,
    AlertRead,
    ChildHistory,
    HistoryEntry,
    LegalBasis,
    RecipientRead,
    RecipientState,
    Severity,
)
from service.audit.service import record_many
from service.children import repository as children
from service.children.service import readable_child
from service.core.problems import (
    Conflict,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    field_error,
)
from service.organisations.models import utcnow

# ---------------------------------------------------------------------------------------------
# shaping what a caller sees


def _action_visible(action: AlertAction, viewer: AccessScope, viewer_is_recipient: bool) -> bool:
    """Schools see no other agency's actions; restricted actions only the author and child
    protection (DESIGN §4 point 6)."""
    if viewer.kind is OrganisationKind.school and not viewer_is_recipient:
        return action.organisation_id == viewer.organisation_id and not action.restricted
    if action.restricted:
        return action.organisation_id == viewer.organisation_id or viewer.kind is OrganisationKind.child_protection
    return True


def _alert_read(
    alert: Alert, recipients: list[AlertRecipient], actions: list[AlertAction], viewer: AccessScope
) -> AlertRead:
    is_recipient = any(r.organisation_id == viewer.organisation_id for r in recipients)
    school_view = viewer.kind is OrganisationKind.school and not is_recipient
    return AlertRead(
        id=alert.id,
        child_id=alert.child_id,
        type=AlertType(alert.type),
        severity=Severity(alert.severity),
        status=alert.status,
        outcome=alert.outcome,  # type: ignore[arg-type]
        outcome_reason=None if school_view else alert.outcome_reason,
        details=alert.details,
        note=alert.note if (not school_view or alert.source_organisation_id == viewer.organisation_id) else None,
        legal_basis=LegalBasis(alert.legal_basis),
        consent_id=alert.consent_id,
        source_organisation_id=alert.source_organisation_id,
        municipality_code=alert.municipality_code,
        recipients=[
            RecipientRead(
                organisation_id=r.organisation_id, state=RecipientState(r.state), lead=r.is_lead,
                delivered_at=r.delivered_at, acknowledged_at=r.acknowledged_at, done_at=r.done_at,
                outcome=r.outcome,  # type: ignore[arg-type]
            )
            for r in recipients
        ],
        actions=[
            ActionRead.model_validate(a, from_attributes=True)
            for a in actions
            if _action_visible(a, viewer, is_recipient)
        ],
        version=alert.version,
        created_at=alert.created_at,
        updated_at=alert.updated_at,
        closed_at=alert.closed_at,
    )


async def _reads(session: AsyncSession, alerts: list[Alert], scope: AccessScope) -> list[AlertRead]:
    ids = [a.id for a in alerts]
    recipients = await repository.recipients_of(session, ids)
    actions = await repository.actions_of(session, ids)
    return [_alert_read(a, recipients[a.id], actions[a.id], scope) for a in alerts]


async def _audit_reads(
    session: AsyncSession, actor: Principal, decision: Decision, alerts: list[Alert]
) -> None:
    """One audit event per alert shown, so a child's access report lists every read."""
    await record_many(
        session,
        [
            audit_record(
                actor,
                Decision(True, decision.action, decision.reason, decision.purpose, alert.legal_basis),
                "alert", alert.id, alert.child_id,
            )
            for alert in alerts
        ],
    )


# ---------------------------------------------------------------------------------------------
# raising and routing


def _validated_details(alert_type: AlertType, details: dict[str, Any]) -> dict[str, Any]:
    try:
        model = DETAILS_MODELS[alert_type].model_validate(details)
    except ValidationError as exc:
        errors = [
            {"pointer": "#/details/" + "/".join(str(p) for p in err["loc"]), "detail": err["msg"]}
            for err in exc.errors()
        ]
        raise ValidationProblem(f"details do not fit type {alert_type.value}", errors=errors) from None
    return model.model_dump(mode="json", exclude_none=True)


async def _route(
    session: AsyncSession, alert_type: AlertType, municipality_code: str
) -> tuple[list[tuple[uuid.UUID, bool]], str, str | None]:
    """Recipients as (organisation id, is lead), the default legal basis and forced severity."""
    rule = await repository.routing_rule(session, alert_type.value)
    if rule is None:
        raise field_error("/type", f"no routing rule for {alert_type.value}")
    found = await repository.organisations_serving(session, municipality_code, rule.recipient_kinds)
    order = {kind: i for i, kind in enumerate(rule.recipient_kinds)}
    found.sort(key=lambda item: order[item[1]])
    if not found:
        raise field_error(
            "/type",
            f"no organisation of kinds {', '.join(rule.recipient_kinds)} serves municipality "
            f"{municipality_code}; ask an administrator to register one",
        )
    lead = found[0][0]
    return [(org, org == lead) for org, _ in found], rule.legal_basis, rule.forced_severity


async def create_alert(
    session: AsyncSession, *, actor: Principal, data: AlertCreate, purpose: Purpose | None, today: date
) -> AlertRead:
    decision = decide(actor, Action.create_alert, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="alert")
    child = await children.get_child(session, data.child_id)
    if child is None:
        raise AccessDenied(
            actor, Decision(False, Action.create_alert, "no such child", decision.purpose, deny_status=404),
            resource_type="child", resource_id=str(data.child_id),
        )
    facts = await children.child_facts(session, child, today)
    decision = decide_child(actor, Action.create_alert, facts, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="child", resource_id=str(child.id), child_id=child.id)
    if facts.municipality_code is None:
        raise field_error("/child_id", "the child has neither an address municipality nor a current school")
    details = _validated_details(data.type, data.details)
    if data.type is AlertType.support_needed or data.legal_basis is LegalBasis.consent or data.consent_id:
        raise field_error(
            "/legal_basis",
            "sharing on the basis of consent needs a recorded guardian consent, which this "
            "service does not hold yet; use a public-body alert type",
        )
    recipients, default_basis, forced_severity = await _route(session, data.type, facts.municipality_code)
    basis = (data.legal_basis or LegalBasis(default_basis)).value
    now = utcnow()
    alert = Alert(
        child_id=child.id,
        municipality_code=facts.municipality_code,
        source_organisation_id=actor.organisation_id,  # type: ignore[arg-type]
        author_id=actor.id,
        type=data.type.value,
        severity=forced_severity or data.severity.value,
        details=details,
        note=data.note,
        legal_basis=basis,
        created_at=now,
        updated_at=now,
    )
    session.add(alert)
    await session.flush()
    await enforce(
        session, actor, Decision(True, Action.create_alert, "alert raised and routed", decision.purpose, basis),
        resource_type="alert", resource_id=alert.id, child_id=child.id,
    )
    position = await repository.next_feed_position(session)
    await repository.insert_recipients(
        session,
        [
            {"id": uuid.uuid4(), "alert_id": alert.id, "organisation_id": org, "is_lead": lead,
             "state": RecipientState.delivered.value, "delivered_at": now, "change_seq": position}
            for org, lead in recipients
        ],
    )
    scope = scope_for(actor, decision)
    return (await _reads(session, [alert], scope))[0]


# ---------------------------------------------------------------------------------------------
# reading


async def _alert_for(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, action: Action,
    purpose: Purpose | None, audit_action: str, for_update: bool = False,
) -> tuple[Alert, Decision]:
    """The alert after the audited relationship check (404 when unrelated or absent)."""
    base = decide(actor, action, purpose=purpose)
    if not base.allowed:
        raise AccessDenied(actor, base, resource_type="alert", resource_id=str(alert_id))
    alert = await repository.get_alert(session, alert_id, for_update=for_update)
    if alert is None:
        raise AccessDenied(
            actor, Decision(False, action, "no such alert", base.purpose, deny_status=404),
            resource_type="alert", resource_id=str(alert_id),
        )
    decision = decide_alert(actor, action, await repository.alert_facts(session, alert), purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="alert", resource_id=str(alert.id), child_id=alert.child_id)
    audited = Decision(True, decision.action, audit_action, decision.purpose, decision.basis)
    await enforce(session, actor, audited, resource_type="alert", resource_id=alert.id, child_id=alert.child_id)
    return alert, decision


async def read_alert(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, purpose: Purpose | None
) -> AlertRead:
    alert, decision = await _alert_for(
        session, actor=actor, alert_id=alert_id, action=Action.read_alert, purpose=purpose,
        audit_action="alert read",
    )
    return (await _reads(session, [alert], scope_for(actor, decision)))[0]


async def list_alerts(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, filters: dict[str, Any],
    before: tuple[datetime, uuid.UUID] | None, limit: int,
) -> tuple[list[AlertRead], tuple[datetime, uuid.UUID] | None]:
    decision = decide(actor, Action.read_alert, purpose=purpose)
    if not decision.allowed or actor.organisation_id is None:
        raise AccessDenied(actor, decision, resource_type="alert")
    scope = scope_for(actor, decision)
    alerts = await repository.list_visible(session, scope, before=before, limit=limit + 1, **filters)
    page = alerts[:limit]
    await _audit_reads(session, actor, decision, page)
    last = (page[-1].created_at, page[-1].id) if len(alerts) > limit else None
    return await _reads(session, page, scope), last


async def inbox(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, after: int, limit: int
) -> tuple[list[tuple[AlertRead, int]], int]:
    """Changes to alerts routed to the caller's organisation after feed position `after`;
    returns them and the position to poll from next (unchanged when nothing is new)."""
    decision = decide(actor, Action.read_inbox, purpose=purpose)
    if not decision.allowed or actor.organisation_id is None:
        raise AccessDenied(actor, decision, resource_type="inbox")
    scope = scope_for(actor, decision)
    rows = await repository.inbox_after(session, scope, after=after, limit=limit)
    alerts = [alert for alert, _ in rows]
    await _audit_reads(session, actor, decision, alerts)
    reads = await _reads(session, alerts, scope)
    return list(zip(reads, [pos for _, pos in rows], strict=True)), (rows[-1][1] if rows else after)


async def history(
    session: AsyncSession, *, actor: Principal, child_id: uuid.UUID, purpose: Purpose | None, today: date
) -> ChildHistory:
    """One timeline across agencies, filtered by what the caller may see."""
    await readable_child(
        session, actor=actor, child_id=child_id, action=Action.read_child_history, purpose=purpose, today=today
    )
    scope = scope_for(actor, decide(actor, Action.read_child_history, purpose=purpose))
    alerts = await repository.child_alerts_visible(session, scope, child_id)
    entries: list[HistoryEntry] = []
    for read in await _reads(session, alerts, scope):
        common = {"alert_id": read.id, "alert_type": read.type}
        entries.append(HistoryEntry(at=read.created_at, event="alert_raised", organisation_id=read.source_organisation_id, severity=read.severity, **common))
        for r in read.recipients:
            if r.acknowledged_at:
                entries.append(HistoryEntry(at=r.acknowledged_at, event="acknowledged", organisation_id=r.organisation_id, **common))
            if r.done_at and not r.lead:
                entries.append(HistoryEntry(at=r.done_at, event="recipient_done", organisation_id=r.organisation_id, outcome=r.outcome, **common))
        for action in read.actions:
            entries.append(HistoryEntry(at=action.created_at, event="action", organisation_id=action.organisation_id, action=action, **common))
        if read.closed_at:
            lead = next((r.organisation_id for r in read.recipients if r.lead), read.source_organisation_id)
            entries.append(HistoryEntry(at=read.closed_at, event="alert_closed", organisation_id=lead, outcome=read.outcome, **common))
    entries.sort(key=lambda e: e.at)
    return ChildHistory(child_id=child_id, entries=entries)


# ---------------------------------------------------------------------------------------------
# lifecycle: acknowledge, act, close — recipients only, with If-Match


def parse_if_match(header: str | None) -> int:
    if header is None:
        raise PreconditionRequired("send If-Match with the alert's ETag to change it")
    value = header.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise PreconditionFailed("If-Match is not an ETag this service issued")
    return int(value)


async def _respond(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, if_match: str | None,
    purpose: Purpose | None, audit_action: str,
) -> tuple[Alert, AlertRecipient, Decision]:
    alert, decision = await _alert_for(
        session, actor=actor, alert_id=alert_id, action=Action.respond_to_alert, purpose=purpose,
        audit_action=audit_action, for_update=True,
    )
    expected = parse_if_match(if_match)
    if expected != alert.version:
        raise PreconditionFailed(f"the alert changed (version {alert.version}); read it again")
    if alert.status == "closed":
        raise Conflict("the alert is closed")
    recipients = (await repository.recipients_of(session, [alert.id]))[alert.id]
    mine = next(r for r in recipients if r.organisation_id == actor.organisation_id)
    return alert, mine, decision


async def _changed(session: AsyncSession, alert: Alert, actor: Principal, decision: Decision) -> AlertRead:
    alert.version += 1
    alert.updated_at = utcnow()
    await session.flush()
    await repository.stamp_recipients(session, alert.id, await repository.next_feed_position(session))
    return (await _reads(session, [alert], scope_for(actor, decision)))[0]


async def acknowledge(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, if_match: str | None, purpose: Purpose | None
) -> AlertRead:
    alert, mine, decision = await _respond(
        session, actor=actor, alert_id=alert_id, if_match=if_match, purpose=purpose,
        audit_action="alert acknowledged",
    )
    if mine.acknowledged_at is not None:
        raise Conflict("your organisation already acknowledged this alert")
    mine.acknowledged_at = utcnow()
    mine.state = RecipientState.acknowledged.value
    return await _changed(session, alert, actor, decision)


async def add_action(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, if_match: str | None,
    purpose: Purpose | None, data: ActionCreate,
) -> AlertRead:
    if data.kind is ActionKind.referral:
        raise field_error(
            "/kind",
            "a referral shares the child's case with a provider and needs a recorded guardian "
            "consent, which this service does not hold yet",
        )
    alert, mine, decision = await _respond(
        session, actor=actor, alert_id=alert_id, if_match=if_match, purpose=purpose,
        audit_action=f"action {data.kind.value} recorded",
    )
    now = utcnow()
    session.add(
        AlertAction(
            alert_id=alert.id, organisation_id=mine.organisation_id, author_id=actor.id,
            kind=data.kind.value, text=data.text, result=data.result.value if data.result else None,
            recipient_id=data.recipient_id, restricted=data.restricted, created_at=now,
        )
    )
    if mine.acknowledged_at is None:
        mine.acknowledged_at = now
    if mine.state != RecipientState.done.value:
        mine.state = RecipientState.in_progress.value
    return await _changed(session, alert, actor, decision)


async def close(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, if_match: str | None,
    purpose: Purpose | None, data: AlertClose,
) -> AlertRead:
    """A recipient finishes its part; when the lead recipient closes, the alert closes."""
    alert, mine, decision = await _respond(
        session, actor=actor, alert_id=alert_id, if_match=if_match, purpose=purpose,
        audit_action=f"closed with outcome {data.outcome.value}",
    )
    if mine.state == RecipientState.done.value:
        raise Conflict("your organisation already closed its part of this alert")
    now = utcnow()
    mine.state = RecipientState.done.value
    mine.outcome = data.outcome.value
    mine.done_at = now
    if mine.acknowledged_at is None:
        mine.acknowledged_at = now
    if mine.is_lead:
        alert.status = "closed"
        alert.outcome = data.outcome.value
        alert.outcome_reason = data.reason
        alert.closed_at = now
    return await _changed(session, alert, actor, decision)
