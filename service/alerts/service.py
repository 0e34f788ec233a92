"""Raising and routing alerts, reading them one by one, in lists and in the inbox feed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.consent import sharing_refusal
from service.access.policy import AccessDenied, Decision, audit_record, decide, enforce
from service.access.principal import Principal
from service.access.relationships import ChildFacts, decide_alert, decide_child, scope_for, user_id_of
from service.access.vocabulary import TEAM_ACTIONS, Action, OrganisationKind, Purpose
from service.alerts import deadlines, repository
from service.alerts.changes import AlertChange, Routed, record_change
from service.alerts.details import DETAILS_MODELS, AlertType
from service.alerts.models import Alert, AlertRecipient, DeadlineRule
from service.alerts.schemas import (
    AlertCreate,
    AlertRead,
    InboxItem,
    InboxNoticeRead,
    LegalBasis,
    RecipientState,
    Severity,
)
from service.alerts.views import alert_read, alert_reads, audit_reads
from service.audit import free_text
from service.children import repository as children
from service.children.models import Child
from service.consent import repository as consents
from service.core.clock import utcnow
from service.core.problems import ValidationProblem, field_error
from service.delivery.events import EventType
from service.organisations import repository as organisations


def _validated_details(alert_type: AlertType, details: dict[str, Any]) -> dict[str, Any]:
    try:
        model = DETAILS_MODELS[alert_type].model_validate(details)
    except ValidationError as exc:
        errors = [
            {"pointer": "/".join(["#/details", *(str(p) for p in err["loc"])]), "detail": err["msg"]}
            for err in exc.errors()
        ]
        raise ValidationProblem(f"details do not fit type {alert_type.value}", errors=errors) from None
    return model.model_dump(mode="json", exclude_none=True)


async def _route(
    session: AsyncSession, alert_type: AlertType, municipality_code: str, severity: str,
    schools: frozenset[uuid.UUID] = frozenset(),
) -> tuple[list[tuple[uuid.UUID, bool]], str, str | None, DeadlineRule | None]:
    """Recipients as (organisation id, is lead), the default legal basis, the forced severity
    and the deadline rule of the severity the alert will have. A rule naming kind `school`
    routes to the child's current `schools` (wherever they are), never to every school of the
    municipality; a child at no school leaves the next kind to lead."""
    route = await repository.route_for(session, alert_type.value, municipality_code, severity)
    if route is None:
        raise field_error("/type", f"no routing rule for {alert_type.value}")
    kinds = route.rule.recipient_kinds
    order = {kind: i for i, kind in enumerate(kinds)}
    school = OrganisationKind.school.value
    serving = [item for item in route.serving if item[1] != school] + [(s, school) for s in sorted(schools)]
    found = sorted((item for item in serving if item[1] in order), key=lambda item: order[item[1]])
    if not found:
        raise field_error(
            "/type",
            f"no organisation of kinds {', '.join(kinds)} serves municipality "
            f"{municipality_code}; ask an administrator to register one",
        )
    lead = found[0][0]
    return [(org, org == lead) for org, _ in found], route.rule.legal_basis, route.rule.forced_severity, route.deadline


async def _consented_provider(
    session: AsyncSession, *, data: AlertCreate, details: dict[str, Any], child_id: uuid.UUID, today: date
) -> uuid.UUID:
    """For a consent-based alert: the named provider, once the guardian's consent is shown to
    cover it and the purpose today."""
    provider_id = uuid.UUID(details["recipient_id"])
    provider = await organisations.get_organisation(session, provider_id)
    if provider is None or provider.kind != OrganisationKind.service_provider.value:
        raise field_error("/details/recipient_id", "not a service provider")
    if data.consent_id is None:
        raise field_error("/consent_id", "sharing with a provider needs the guardian's consent_id")
    facts = (await consents.facts_by_id(session, [data.consent_id])).get(data.consent_id)
    refusal = sharing_refusal(facts, child_id=child_id, recipient=provider_id, purpose=details["purpose"], today=today)
    if refusal is not None:
        raise field_error("/consent_id", refusal)
    return provider_id


async def create_alert(
    session: AsyncSession, *, actor: Principal, data: AlertCreate, purpose: Purpose | None, today: date
) -> AlertRead:
    decision = decide(actor, Action.create_alert, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="alert")
    child, facts, decision = await _child_for_alert(
        session, actor=actor, child=await children.get_child(session, data.child_id), child_id=data.child_id,
        alert_type=data.type.value, purpose=purpose, today=today,
    )
    if facts.municipality_code is None:
        raise field_error("/child_id", "the child has neither an address municipality nor a current school")
    details = _validated_details(data.type, data.details)

    consent_id: uuid.UUID | None = None
    if data.type is AlertType.support_needed:
        if data.legal_basis not in (None, LegalBasis.consent):
            raise field_error("/legal_basis", "a referral to a provider is shared on the basis of consent")
        provider = await _consented_provider(session, data=data, details=details, child_id=child.id, today=today)
        recipients, basis, forced_severity = [(provider, True)], LegalBasis.consent.value, None
        deadline = await deadlines.deadline_rule(session, data.severity.value)
        consent_id = data.consent_id
    else:
        if data.legal_basis is LegalBasis.consent or data.consent_id is not None:
            raise field_error(
                "/legal_basis",
                "public bodies share under legal obligation or public task, not consent; "
                "consent is for support_needed alerts and referrals to providers",
            )
        recipients, default_basis, forced_severity, deadline = await _route(
            session, data.type, facts.municipality_code, data.severity.value, facts.enrolled_at
        )
        basis = (data.legal_basis or LegalBasis(default_basis)).value

    alert, routed = await _insert_alert(
        session,
        actor=actor,
        child_id=child.id,
        municipality_code=facts.municipality_code,
        settlement_code=details.get("settlement_code") or _settlement_in(
            facts.municipality_code, child.settlement_code, child.municipality_code
        ),
        alert_type=data.type.value,
        severity=forced_severity or data.severity.value,
        details=details,
        note=data.note,
        basis=basis,
        consent_id=consent_id,
        recipients=recipients,
        deadline=deadline,
        purpose=decision.purpose,
    )
    # a new alert has the recipients just written and no actions: nothing to read back
    return alert_read(alert, routed, [], scope_for(actor, decision, today))


async def _child_for_alert(
    session: AsyncSession,
    *,
    actor: Principal,
    child: Child | None,
    child_id: uuid.UUID,
    alert_type: str,
    purpose: Purpose | None,
    today: date,
) -> tuple[Child, ChildFacts, Decision]:
    """The object-level decision on raising an alert about `child`: a missing child is a 404,
    an unrelated one is refused as the policy says."""
    if child is None:
        raise AccessDenied(
            actor,
            Decision(
                allowed=False, action=Action.create_alert, reason="no such child",
                purpose=purpose or actor.default_purpose, deny_status=404,
            ),
            resource_type="child",
            resource_id=str(child_id),
        )
    facts = await children.child_facts(session, child, today)
    decision = decide_child(actor, Action.create_alert, facts, purpose=purpose, alert_type=alert_type)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="child", resource_id=str(child.id), child_id=child.id)
    if child.merged_into_id is not None:
        # the provisional record was merged: its alerts live on the kept record now
        raise field_error("/child_id", "this record was merged into the child's PIN record; "
                                       "GET /children/{id} answers where it went")
    return child, facts, decision


async def redecide_creation(
    session: AsyncSession,
    *,
    actor: Principal,
    data: AlertCreate,
    purpose: Purpose | None,
    today: date,
    alert_id: uuid.UUID,
) -> None:
    """A retry of raising an alert (same `Idempotency-Key`): decided again for the caller as it
    is now — its role, its relationship with the child, the guardian's consent — and audited,
    before the first answer is replayed."""
    decision = decide(actor, Action.create_alert, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="alert", resource_id=str(alert_id))
    alert = await repository.get_alert(session, alert_id)
    child, facts, decision = await _child_for_alert(
        session, actor=actor, child=await children.get_child(session, data.child_id) if alert else None,
        child_id=data.child_id, alert_type=data.type.value, purpose=purpose, today=today,
    )
    assert alert is not None  # noqa: S101 - _child_for_alert refused a missing alert as a missing child
    if alert.consent_id is not None:
        consent = (await consents.facts_by_id(session, [alert.consent_id])).get(alert.consent_id)
        refusal = sharing_refusal(
            consent, child_id=child.id, recipient=uuid.UUID(str(alert.details.get("recipient_id"))),
            purpose=str(alert.details.get("purpose")), today=today,
        )
        if refusal is not None:
            raise AccessDenied(
                actor,
                Decision(
                    allowed=False, action=Action.create_alert, reason=refusal, purpose=decision.purpose,
                    basis="consent", consent_id=alert.consent_id,
                ),
                resource_type="alert", resource_id=str(alert.id), child_id=child.id,
            )
    await enforce(
        session,
        actor,
        Decision(
            allowed=True, action=Action.create_alert, reason="idempotent replay of an alert raised",
            purpose=decision.purpose, basis=alert.legal_basis, consent_id=alert.consent_id,
        ),
        resource_type="alert",
        resource_id=alert.id,
        child_id=child.id,
    )


def _settlement_in(municipality_code: str, settlement_code: str | None, child_municipality: str | None) -> str | None:
    """The child's settlement, for an alert about the municipality it lies in (the mechanism
    report groups by it); None for an alert about another municipality."""
    return settlement_code if settlement_code is not None and child_municipality == municipality_code else None


async def _insert_alert(
    session: AsyncSession,
    *,
    actor: Principal,
    child_id: uuid.UUID,
    municipality_code: str,
    alert_type: str,
    severity: str,
    details: dict[str, Any],
    note: str | None,
    basis: str,
    consent_id: uuid.UUID | None,
    recipients: list[tuple[uuid.UUID, bool]],
    deadline: DeadlineRule | None,
    purpose: Purpose | None,
    settlement_code: str | None = None,
) -> tuple[Alert, list[AlertRecipient]]:
    """Store an alert, its audit event and its recipients."""
    now = utcnow()
    alert = Alert(
        child_id=child_id,
        municipality_code=municipality_code,
        # the caller's decide_child allowed the actor, which it never does without an organisation
        source_organisation_id=cast(uuid.UUID, actor.organisation_id),
        author_id=actor.id,
        type=alert_type,
        severity=severity,
        details=details,
        note=note,
        legal_basis=basis,
        consent_id=consent_id,
        settlement_code=settlement_code,
    )
    decision = Decision(
        allowed=True, action=Action.create_alert, reason="alert raised and routed", purpose=purpose, basis=basis,
        consent_id=consent_id,
    )
    due = deadlines.due_by(deadline, now)
    routed = [
        Routed(
            organisation_id=org, is_lead=lead, due_at=due, consent_id=consent_id,
            referral_status="pending" if consent_id else None,
        )
        for org, lead in recipients
    ]
    positions = await record_change(
        session,
        [
            AlertChange(
                alert=alert, event=EventType.alert_routed, new=True, routed=routed,
                audit=[audit_record(actor, decision, "alert", alert.id, child_id)],
            )
        ],
        now=now,
    )
    return alert, [
        AlertRecipient(
            alert_id=alert.id, organisation_id=r.organisation_id, is_lead=r.is_lead,
            state=RecipientState.delivered.value, delivered_at=now, change_seq=positions[0],
            consent_id=r.consent_id, referral_status=r.referral_status, due_at=r.due_at,
        )
        for r in routed
    ]


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A child whose absence figures crossed a threshold rule."""

    child_id: uuid.UUID
    municipality_code: str
    alert_type: AlertType
    severity: str
    details: dict[str, Any]
    dedup_key: str
    #: EKATTE settlement the case is about, when the source knows it (lists of children to find)
    settlement_code: str | None = None


def _gravest_per_key(hits: list[RuleHit]) -> list[RuleHit]:
    order = list(Severity)
    gravest: dict[tuple[uuid.UUID, str], RuleHit] = {}
    for hit in hits:
        key = (hit.child_id, hit.dedup_key)
        kept = gravest.get(key)
        if kept is None or order.index(Severity(hit.severity)) > order.index(Severity(kept.severity)):
            gravest[key] = hit
    return list(gravest.values())


async def apply_rule_hits(
    session: AsyncSession, *, actor: Principal, hits: list[RuleHit], raised_by: str = "an absence rule"
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Raise an alert per hit, or give the new figures to the open alert already raised for
    that child and key; returns (raised, updated) alert ids. Done in bulk — a month-start batch
    may cross thousands of thresholds. The caller has checked the relationship (the pupils are
    enrolled at the reporting school). Two rules crossed by one child for one key (a lower and a
    higher threshold for the same month) make one alert, of the graver rule's severity."""
    hits = _gravest_per_key(hits)
    existing = await repository.open_alerts_by_keys(session, [(h.child_id, h.dedup_key) for h in hits])
    changed: list[tuple[Alert, dict[str, Any]]] = []
    new: list[tuple[RuleHit, list[tuple[uuid.UUID, bool]], str, str | None]] = []
    routes: dict[tuple[AlertType, str], tuple[list[tuple[uuid.UUID, bool]], str, str | None]] = {}
    now = utcnow()
    for hit in hits:
        alert = existing.get((hit.child_id, hit.dedup_key))
        if alert is not None:
            if alert.details != hit.details:
                changed.append((alert, hit.details))
            continue
        route_key = (hit.alert_type, hit.municipality_code)
        if route_key not in routes:
            routes[route_key] = (await _route(session, hit.alert_type, hit.municipality_code, hit.severity))[:3]
        new.append((hit, *routes[route_key]))
    dues = {severity: await deadlines.due_at(session, severity, now) for severity in
            {forced or hit.severity for hit, _, _, forced in new}}
    # an absence rule names no settlement: the child's own, where the case is about its municipality
    settled = await children.child_settlements(
        session, [hit.child_id for hit, *_ in new if hit.settlement_code is None]
    )
    changes: list[AlertChange] = []
    for hit, recipients, basis, forced in new:
        alert = Alert(
            child_id=hit.child_id,
            municipality_code=hit.municipality_code,
            # the caller is a school's officer, who always belongs to an organisation
            source_organisation_id=cast(uuid.UUID, actor.organisation_id),
            author_id=actor.id,
            type=hit.alert_type.value,
            severity=forced or hit.severity,
            details=_validated_details(hit.alert_type, hit.details),
            legal_basis=basis,
            dedup_key=hit.dedup_key,
            settlement_code=hit.settlement_code or _settlement_in(
                hit.municipality_code, *settled.get(hit.child_id, (None, None))
            ),
        )
        decision = Decision(
            allowed=True, action=Action.create_alert, reason=f"alert raised by {raised_by}", basis=basis
        )
        changes.append(
            AlertChange(
                alert=alert, event=EventType.alert_routed, new=True,
                audit=[audit_record(actor, decision, "alert", alert.id, alert.child_id)],
                routed=[Routed(organisation_id=org, is_lead=lead, due_at=dues[alert.severity])
                        for org, lead in recipients],
            )
        )
    for alert, details in changed:
        alert.details = details
        decision = Decision(
            allowed=True, action=Action.create_alert, reason=f"alert updated by {raised_by}",
            basis=alert.legal_basis,
        )
        changes.append(
            AlertChange(
                alert=alert, event=EventType.alert_updated,
                audit=[audit_record(actor, decision, "alert", alert.id, alert.child_id)],
            )
        )
    await record_change(session, changes, now=now)
    return [c.alert.id for c in changes if c.new], [c.alert.id for c in changes if not c.new]


async def alert_for(
    session: AsyncSession,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    action: Action,
    purpose: Purpose | None,
    audit_action: str | None,
    today: date,
    for_update: bool = False,
) -> tuple[Alert, Decision]:
    """The alert after the relationship check (404 when unrelated or absent), audited as
    `audit_action`; without one, the caller audits (a change audits with `record_change`). A
    role that may not attempt the action is refused before the alert is read, unless the caller
    could be a member of the team the alert is assigned to (membership is no role)."""
    base = decide(actor, action, purpose=purpose)
    if not base.allowed and not (action in TEAM_ACTIONS and user_id_of(actor) is not None):
        raise AccessDenied(actor, base, resource_type="alert", resource_id=str(alert_id))
    alert = await repository.get_alert(session, alert_id, for_update=for_update)
    if alert is None:
        raise AccessDenied(
            actor,
            base if not base.allowed else Decision(
                allowed=False, action=action, reason="no such alert", purpose=base.purpose, deny_status=404
            ),
            resource_type="alert",
            resource_id=str(alert_id),
        )
    facts = await repository.alert_facts(session, alert)
    decision = decide_alert(actor, action, facts, purpose=purpose, today=today)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="alert", resource_id=str(alert.id), child_id=alert.child_id)
    if audit_action is not None:
        await enforce(
            session, actor, audited(decision, audit_action), resource_type="alert", resource_id=alert.id,
            child_id=alert.child_id,
        )
    return alert, decision


def audited(decision: Decision, reason: str) -> Decision:
    """The allowed decision on an alert as its audit event states it: `reason` says what was done."""
    return Decision(
        allowed=True, action=decision.action, reason=reason, purpose=decision.purpose, basis=decision.basis,
        consent_id=decision.consent_id,
    )


async def read_alert(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, purpose: Purpose | None, today: date
) -> AlertRead:
    alert, decision = await alert_for(
        session,
        actor=actor,
        alert_id=alert_id,
        action=Action.read_alert,
        purpose=purpose,
        audit_action="alert read",
        today=today,
    )
    return (await alert_reads(session, [alert], scope_for(actor, decision, today)))[0]


async def list_alerts(
    session: AsyncSession,
    *,
    actor: Principal,
    purpose: Purpose | None,
    filters: dict[str, Any],
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
    today: date,
) -> tuple[list[AlertRead], tuple[datetime, uuid.UUID] | None]:
    decision = decide(actor, Action.read_alert, purpose=purpose)
    if not decision.allowed or actor.organisation_id is None:
        raise AccessDenied(actor, decision, resource_type="alert")
    scope = scope_for(actor, decision, today)
    alerts = await repository.list_visible(session, scope, before=before, limit=limit + 1, **filters)
    page = alerts[:limit]
    await audit_reads(session, actor, decision, page)
    last = (page[-1].created_at, page[-1].id) if len(alerts) > limit else None
    return await alert_reads(session, page, scope), last


async def inbox(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, after: int, limit: int, today: date
) -> tuple[list[AlertRead], list[InboxItem], int]:
    """Changes to alerts routed to the caller's organisation, and notices addressed to it,
    after feed position `after`, oldest first; and the position to poll from next (unchanged
    when nothing is new)."""
    decision = decide(actor, Action.read_inbox, purpose=purpose)
    if not decision.allowed or actor.organisation_id is None:
        raise AccessDenied(actor, decision, resource_type="inbox")
    scope = scope_for(actor, decision, today)
    rows = await repository.inbox_after(session, scope, after=after, limit=limit)
    notices = await repository.notices_after(session, scope, after=after, limit=limit)
    merged = sorted(
        [(position, alert) for alert, position in rows] + [(n.change_seq, n) for n in notices],
        key=lambda pair: pair[0],
    )[:limit]
    overdue = await repository.overdue_for(session, scope)
    alerts = [item for _, item in merged if isinstance(item, Alert)]
    await audit_reads(session, actor, decision, alerts + [a for a in overdue if a not in alerts])
    reads = {
        read.id: read for read in await alert_reads(session, list({a.id: a for a in alerts + overdue}.values()), scope)
    }
    reasons = await free_text.texts(session, (n.reason_sha256 for n in notices))
    items = [
        InboxItem(kind="alert", alert=reads[item.id], change=position)
        if isinstance(item, Alert)
        else InboxItem(
            kind="notice",
            change=position,
            notice=InboxNoticeRead.model_validate(item, from_attributes=True).model_copy(
                update={"reason": reasons.get(item.reason_sha256 or "")}
            ),
        )
        for position, item in merged
    ]
    return [reads[a.id] for a in overdue], items, (merged[-1][0] if merged else after)


async def my_cases(
    session: AsyncSession,
    *,
    actor: Principal,
    purpose: Purpose | None,
    limit: int,
    today: date,
    after: tuple[bool, datetime, uuid.UUID] | None = None,
) -> tuple[list[AlertRead], tuple[bool, datetime, uuid.UUID] | None]:
    """What is assigned to the signed-in person or to the person's teams, overdue first, a page
    after `after`; with the position of the page's last case when more follow. Every alert shown
    is audited."""
    user_id = user_id_of(actor)
    decision = decide(actor, Action.read_alert, purpose=purpose)
    if not decision.allowed and user_id is not None:
        # a team member whose role reads no alerts (a juvenile commission officer) reads its cases
        chosen = purpose or actor.default_purpose
        if chosen is not None and chosen in actor.allowed_purposes:
            decision = Decision(allowed=True, action=Action.read_alert, reason="own and own teams' cases",
                                purpose=chosen)
    if not decision.allowed or user_id is None or actor.organisation_id is None:
        refusal = decision if not decision.allowed else Decision(
            allowed=False, action=Action.read_alert, reason="cases are assigned to people signed in",
            purpose=decision.purpose,
        )
        raise AccessDenied(actor, refusal, resource_type="alert")
    rows = await repository.my_cases(session, user_id, limit=limit + 1, after=after)
    page = rows[:limit]
    alerts = [alert for alert, _ in page]
    await audit_reads(session, actor, decision, alerts)
    last = (page[-1][1], page[-1][0].created_at, page[-1][0].id) if len(rows) > limit else None
    return await alert_reads(session, alerts, scope_for(actor, decision, today)), last
