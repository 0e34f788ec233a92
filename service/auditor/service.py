"""The auditor's side of the trail: searching events and reviewing emergency access. An
auditor's own reads and reviews are audited too."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, audit_record, require
from service.access.principal import Principal
from service.access.vocabulary import Action, Purpose
from service.audit import free_text, repository
from service.audit.models import BreakGlassReview
from service.audit.repository import EventFilter
from service.audit.service import record
from service.audit.verify import Verification, verify_chain
from service.auditor import checkpoints
from service.auditor.schemas import (
    AccessEntry,
    AccessReport,
    AuditEventRead,
    BreakGlassRead,
    BreakGlassReviewBody,
    CheckpointRead,
)
from service.auth.keys import KeyRing
from service.core.clock import utcnow
from service.core.problems import Conflict

log = structlog.get_logger("service.audit")


async def _audit_auditor(
    session: AsyncSession,
    actor: Principal,
    decision: Decision,
    reason: str,
    *,
    resource_type: str,
    resource_id: uuid.UUID | None = None,
    child_id: uuid.UUID | None = None,
) -> None:
    audited = Decision(
        allowed=True, action=decision.action, reason=reason, purpose=decision.purpose, basis="legal_obligation",
    )
    await record(session, audit_record(actor, audited, resource_type, resource_id, child_id))


async def search_events(
    session: AsyncSession,
    *,
    actor: Principal,
    purpose: Purpose | None,
    where: EventFilter,
    after_seq: int,
    limit: int,
) -> tuple[list[AuditEventRead], int | None]:
    decision = require(actor, Action.read_audit, purpose=purpose)
    events = await repository.search(session, where, after_seq=after_seq, limit=limit + 1)
    page = events[:limit]
    await _audit_auditor(
        session, actor, decision, "audit trail searched", resource_type="audit_event", child_id=where.child_id
    )
    items = [AuditEventRead.model_validate(e, from_attributes=True) for e in page]
    return items, (page[-1].seq if len(events) > limit else None)


async def break_glass_queue(
    session: AsyncSession,
    *,
    actor: Principal,
    purpose: Purpose | None,
    pending_only: bool,
    after_seq: int,
    limit: int,
) -> tuple[list[BreakGlassRead], int | None]:
    decision = require(actor, Action.read_audit, purpose=purpose)
    rows = await repository.break_glass_reviews(
        session, pending_only=pending_only, after_seq=after_seq, limit=limit + 1
    )
    page = rows[:limit]
    await _audit_auditor(session, actor, decision, "break-glass queue read", resource_type="break_glass_review")
    reasons = await free_text.texts(session, (r.reason_sha256 for r in page))
    items = [_break_glass_read(r, reasons) for r in page]
    return items, (page[-1].audit_seq if len(rows) > limit else None)


def _break_glass_read(review: BreakGlassReview, reasons: dict[str, str]) -> BreakGlassRead:
    """The review with its reason while the erasable text exists (reading it is the queue's purpose)."""
    read = BreakGlassRead.model_validate(review, from_attributes=True)
    return read.model_copy(update={"reason": reasons.get(review.reason_sha256)})


async def review_break_glass(
    session: AsyncSession,
    *,
    actor: Principal,
    purpose: Purpose | None,
    review_id: uuid.UUID,
    data: BreakGlassReviewBody,
) -> BreakGlassRead:
    decision = require(actor, Action.read_audit, purpose=purpose)
    review = await repository.get_break_glass(session, review_id)
    if review is None:
        hidden = Decision(
            allowed=False, action=Action.read_audit, reason="no such break-glass access", purpose=decision.purpose,
            deny_status=404,
        )
        raise AccessDenied(actor, hidden, resource_type="break_glass_review", resource_id=str(review_id))
    if review.reviewed_at is not None:
        raise Conflict("this emergency access was already reviewed")
    review.reviewed_at = utcnow()
    review.reviewed_by = actor.id
    review.review_outcome = data.outcome.value
    review.review_comment = data.comment
    await session.flush()
    await _audit_auditor(
        session,
        actor,
        decision,
        f"break-glass access reviewed: {data.outcome.value}",
        resource_type="break_glass_review",
        resource_id=review.id,
        child_id=review.child_id,
    )
    return _break_glass_read(review, await free_text.texts(session, [review.reason_sha256]))


async def access_report(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, child_id: uuid.UUID, for_guardian: bool
) -> AccessReport:
    """Who read or changed a child's data, when, why and on what basis. The guardian version
    (a subject access request) lists the organisations, roles, dates and purposes of accesses
    that happened, and no staff identities."""
    decision = require(actor, Action.read_audit, purpose=purpose)
    rows = await repository.child_accesses(session, child_id, allowed_only=for_guardian)
    await _audit_auditor(
        session,
        actor,
        decision,
        "child access report" + (" (guardian)" if for_guardian else ""),
        resource_type="access_report",
        child_id=child_id,
    )
    entries = [
        AccessEntry(
            at=event.occurred_at,
            organisation_id=event.actor_organisation_id,
            organisation_code=code,
            organisation_name=name,
            roles=event.actor_roles,
            action=event.action,
            purpose=event.purpose,
            basis=event.basis,
            break_glass=event.break_glass,
            actor_id=None if for_guardian else event.actor_id,
            decision=None if for_guardian else event.decision,
            reason=None if for_guardian else event.reason,
        )
        for event, code, name in rows
    ]
    return AccessReport(child_id=child_id, version="guardian" if for_guardian else "staff", entries=entries)


async def verify(session: AsyncSession, *, actor: Principal, purpose: Purpose | None) -> Verification:
    decision = require(actor, Action.read_audit, purpose=purpose)
    result = await verify_chain(session)
    try:
        async with session.begin_nested():
            await _audit_auditor(
                session,
                actor,
                decision,
                "audit chain verified: " + ("intact" if result.ok else "broken"),
                resource_type="audit_event",
            )
    except IntegrityError:
        if result.ok:
            raise
        # An event forged past the chain head holds the position this record needs, so the
        # verification cannot be appended. The auditor must still be told where the chain broke
        # (the alternative is a 500 exactly when the trail has been tampered with).
        log.warning("audit.verify_not_recorded", first_bad_seq=result.first_bad_seq, actor_id=actor.id)
    return result


async def list_checkpoints(
    session: AsyncSession,
    *,
    actor: Principal,
    purpose: Purpose | None,
    limit: int,
    before: tuple[int, uuid.UUID] | None,
) -> tuple[list[CheckpointRead], tuple[int, uuid.UUID] | None]:
    """A page of signed checkpoints, newest first."""
    decision = require(actor, Action.read_audit, purpose=purpose)
    rows = await repository.checkpoints(session, limit=limit + 1, before=before)
    page = rows[:limit]
    await _audit_auditor(session, actor, decision, "checkpoints listed", resource_type="audit_checkpoint")
    last = (page[-1].seq, page[-1].id) if len(rows) > limit else None
    return [CheckpointRead.model_validate(c, from_attributes=True) for c in page], last


async def create_checkpoint(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, keys: KeyRing
) -> CheckpointRead:
    decision = require(actor, Action.read_audit, purpose=purpose)
    checkpoint = await checkpoints.create(session, keys) or await checkpoints.latest(session)
    if checkpoint is None:
        raise Conflict("the audit trail is empty; there is nothing to checkpoint")
    await _audit_auditor(
        session, actor, decision, f"checkpoint at event {checkpoint.seq}", resource_type="audit_checkpoint"
    )
    return CheckpointRead.model_validate(checkpoint, from_attributes=True)


async def record_export(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, child_id: uuid.UUID | None, fmt: str
) -> None:
    """The export is audited (in the request's transaction) before the first line is sent."""
    decision = require(actor, Action.read_audit, purpose=purpose)
    await _audit_auditor(
        session, actor, decision, f"audit trail exported as {fmt}", resource_type="audit_event", child_id=child_id
    )
