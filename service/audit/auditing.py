"""The auditor's side of the trail: searching events and reviewing emergency access. An
auditor's own reads and reviews are audited too."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, audit_record, require
from service.access.principal import Principal
from service.access.vocabulary import Action, Purpose
from service.audit import repository
from service.audit.repository import EventFilter
from service.audit.schemas import AuditEventRead, BreakGlassRead, BreakGlassReviewBody
from service.audit.service import record
from service.core.problems import Conflict
from service.organisations.models import utcnow


async def _audit_auditor(
    session: AsyncSession, actor: Principal, decision: Decision, reason: str, *,
    resource_type: str, resource_id: uuid.UUID | None = None, child_id: uuid.UUID | None = None,
) -> None:
    audited = Decision(True, decision.action, reason, decision.purpose, "legal_obligation")
    await record(session, audit_record(actor, audited, resource_type, resource_id, child_id))


async def search_events(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, where: EventFilter,
    after_seq: int, limit: int,
) -> tuple[list[AuditEventRead], int | None]:
    decision = require(actor, Action.read_audit, purpose=purpose)
    events = await repository.search(session, where, after_seq=after_seq, limit=limit + 1)
    page = events[:limit]
    await _audit_auditor(session, actor, decision, "audit trail searched", resource_type="audit_event",
                         child_id=where.child_id)
    items = [AuditEventRead.model_validate(e, from_attributes=True) for e in page]
    return items, (page[-1].seq if len(events) > limit else None)


async def break_glass_queue(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, pending_only: bool,
    after_seq: int, limit: int,
) -> tuple[list[BreakGlassRead], int | None]:
    decision = require(actor, Action.read_audit, purpose=purpose)
    rows = await repository.break_glass_reviews(session, pending_only=pending_only, after_seq=after_seq, limit=limit + 1)
    page = rows[:limit]
    await _audit_auditor(session, actor, decision, "break-glass queue read", resource_type="break_glass_review")
    items = [BreakGlassRead.model_validate(r, from_attributes=True) for r in page]
    return items, (page[-1].audit_seq if len(rows) > limit else None)


async def review_break_glass(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, review_id: uuid.UUID,
    data: BreakGlassReviewBody,
) -> BreakGlassRead:
    decision = require(actor, Action.read_audit, purpose=purpose)
    review = await repository.get_break_glass(session, review_id)
    if review is None:
        hidden = Decision(False, Action.read_audit, "no such break-glass access", decision.purpose, deny_status=404)
        raise AccessDenied(actor, hidden, resource_type="break_glass_review", resource_id=str(review_id))
    if review.reviewed_at is not None:
        raise Conflict("this emergency access was already reviewed")
    review.reviewed_at = utcnow()
    review.reviewed_by = actor.id
    review.review_outcome = data.outcome.value
    review.review_comment = data.comment
    await session.flush()
    await _audit_auditor(
        session, actor, decision, f"break-glass access reviewed: {data.outcome.value}",
        resource_type="break_glass_review", resource_id=review.id, child_id=review.child_id,
    )
    return BreakGlassRead.model_validate(review, from_attributes=True)
