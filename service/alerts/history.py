"""A child's case history across agencies, and break-glass emergency reads of it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from urllib.parse import unquote

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, audit_record, decide
from service.access.principal import Principal
from service.access.relationships import MIN_BREAK_GLASS_REASON, decide_break_glass, scope_for
from service.access.vocabulary import Action, OrganisationKind, Purpose
from service.alerts import feed, repository
from service.alerts.models import InboxNotice
from service.alerts.schemas import AlertRead, ChildHistory, HistoryEntry
from service.alerts.views import alert_reads
from service.audit import free_text
from service.audit.chain import canonical_time
from service.audit.service import record
from service.children import repository as children
from service.children.service import readable_child
from service.core.problems import ValidationProblem
from service.delivery.events import EventType, emit


def _timeline(reads: list[AlertRead]) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    for read in reads:
        entries.append(
            HistoryEntry(
                at=read.created_at,
                event="alert_raised",
                organisation_id=read.source_organisation_id,
                severity=read.severity,
                alert_id=read.id, alert_type=read.type,
            )
        )
        for r in read.recipients:
            if r.acknowledged_at and r.referral_status is None:
                entries.append(
                    HistoryEntry(
                        at=r.acknowledged_at,
                        event="acknowledged",
                        organisation_id=r.organisation_id,
                        alert_id=read.id,
                        alert_type=read.type,
                    )
                )
            if r.referral_status in ("accepted", "declined"):
                entries.append(
                    HistoryEntry(
                        at=r.acknowledged_at or read.updated_at,
                        event="referral_answered",
                        organisation_id=r.organisation_id,
                        referral_status=r.referral_status,
                        alert_id=read.id, alert_type=read.type,
                    )
                )
            if r.done_at and not r.lead and r.outcome:
                entries.append(
                    HistoryEntry(
                        at=r.done_at,
                        event="recipient_done",
                        organisation_id=r.organisation_id,
                        outcome=r.outcome,
                        alert_id=read.id, alert_type=read.type,
                    )
                )
        for action in read.actions:
            entries.append(
                HistoryEntry(
                    at=action.created_at,
                    event="action",
                    organisation_id=action.organisation_id,
                    action=action,
                    alert_id=read.id, alert_type=read.type,
                )
            )
        if read.closed_at:
            lead = next((r.organisation_id for r in read.recipients if r.lead), read.source_organisation_id)
            entries.append(
                HistoryEntry(
                    at=read.closed_at,
                    event="alert_closed",
                    organisation_id=lead,
                    outcome=read.outcome,
                    alert_id=read.id,
                    alert_type=read.type,
                )
            )
    entries.sort(key=lambda e: e.at)
    return entries


def _header_text(value: str | None) -> str:
    """HTTP headers carry only Latin-1, so a reason in Bulgarian arrives percent-encoded as
    UTF-8 (`%D0%94%D0%B5...`); plain ASCII passes unchanged."""
    return unquote(value or "", encoding="utf-8", errors="replace").strip()


async def history(
    session: AsyncSession,
    *,
    actor: Principal,
    child_id: uuid.UUID,
    purpose: Purpose | None,
    today: date,
    break_glass_reason: str | None = None,
) -> ChildHistory:
    """One timeline across agencies, filtered by what the caller may see. With purpose
    `emergency` it is a break-glass read instead."""
    if purpose is Purpose.emergency:
        return await _break_glass(session, actor=actor, child_id=child_id, reason=break_glass_reason, today=today)
    await readable_child(
        session, actor=actor, child_id=child_id, action=Action.read_child_history, purpose=purpose, today=today
    )
    decision = decide(actor, Action.read_child_history, purpose=purpose)
    if not decision.allowed:
        # readable_child allowed it through a relationship that is no role: team membership
        decision = Decision(allowed=True, action=Action.read_child_history,
            reason="member of a team working the child's case",
                            purpose=purpose or actor.default_purpose)
    scope = scope_for(actor, decision, today)
    alerts = await repository.child_alerts_visible(session, scope, child_id)
    return ChildHistory(child_id=child_id, entries=_timeline(await alert_reads(session, alerts, scope)))


async def _break_glass(
    session: AsyncSession, *, actor: Principal, child_id: uuid.UUID, reason: str | None, today: date
) -> ChildHistory:
    """Allowed, marked in the audit trail, queued for an auditor's review, and told to the
    child protection department of the child's municipality through its inbox."""
    reason = _header_text(reason)
    decision = decide_break_glass(actor, reason)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="child", resource_id=str(child_id))
    if len(reason) < MIN_BREAK_GLASS_REASON or "\x00" in reason:
        detail = f"break-glass access needs a reason of at least {MIN_BREAK_GLASS_REASON} characters, without NUL"
        raise ValidationProblem(detail, errors=[{"header": "X-Break-Glass-Reason", "detail": detail}])
    child = await children.get_child(session, child_id)
    if child is None:
        raise AccessDenied(
            actor,
            Decision(
                allowed=False, action=decision.action, reason="no such child", purpose=decision.purpose,
                deny_status=404,),
            resource_type="child",
            resource_id=str(child_id),
        )
    entry = replace(audit_record(actor, decision, "child", child.id, child.id), for_review=True)
    await record(session, entry)
    facts = await children.child_facts(session, child, today)
    if facts.municipality_code:
        departments = await repository.organisations_serving(
            session, facts.municipality_code, [OrganisationKind.child_protection.value]
        )
        (position,) = await feed.positions(session, 1)
        reason_sha256 = await free_text.keep(session, reason)  # the entry the audit event names
        for department_id, _ in departments:
            await repository.add_notice(
                session,
                InboxNotice(
                    organisation_id=department_id,
                    kind="break_glass",
                    child_id=child.id,
                    actor_organisation_id=actor.organisation_id,
                    reason_sha256=reason_sha256,
                    change_seq=position,
                ),
            )
        await emit(
            session,
            event_type=EventType.access_break_glass,
            organisations=[d for d, _ in departments],
            ordering_key=f"child:{child.id}",
            position=position,
            payload={
                "type": EventType.access_break_glass.value,
                "child_id": str(child.id),
                "actor_organisation_id": str(actor.organisation_id) if actor.organisation_id else None,
                "time": canonical_time(entry.occurred_at),
            },
        )
    scope = scope_for(actor, decision, today)
    alerts = await repository.child_alerts(session, child.id)
    return ChildHistory(
        child_id=child.id, break_glass=True, entries=_timeline(await alert_reads(session, alerts, scope))
    )
