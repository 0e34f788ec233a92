"""Appending to the audit trail, inside the caller's transaction.

A change and its audit event commit together: `record` only flushes into the session the caller
is already using. Denials are recorded by the problem handler in a transaction of their own,
because the request's own transaction is rolled back when it fails.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.access.principal import Principal
from service.audit import free_text
from service.audit.chain import event_hash
from service.audit.models import AuditEvent, AuditHead, BreakGlassReview
from service.core.context import current_request

#: up to this many events go in a single INSERT statement (with the head's move) on PostgreSQL;
#: more go through executemany, which batches them within the bind-parameter limit
_ONE_STATEMENT_LIMIT = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """What happened, by whom, to what. Never names, PINs or notes: `reason` is fixed wording,
    and a break-glass reason (free text) reaches the chain only as the SHA-256 of its entry in
    the erasable `audit_free_text`."""

    actor: Principal
    action: str
    decision: str
    reason: str
    resource_type: str | None = None
    resource_id: str | None = None
    child_id: uuid.UUID | None = None
    purpose: str | None = None
    basis: str | None = None
    consent_id: uuid.UUID | None = None
    break_glass: bool = False
    break_glass_reason: str | None = None
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


async def record(session: AsyncSession, entry: AuditRecord) -> int:
    """Link `entry` to the chain in the caller's transaction; returns its `seq`."""
    return (await record_many(session, [entry]))[-1]


async def record_many(session: AsyncSession, entries: list[AuditRecord]) -> list[int]:
    """Link several events (e.g. one per child on a page that was read) in three round trips:
    claim `len(entries)` positions on the head, insert them all, move the head's hash."""
    if not entries:
        return []
    # kept before the head is taken: the chain's lock is not held for it
    reasons = {
        e.break_glass_reason: await free_text.keep(session, e.break_glass_reason)
        for e in entries
        if e.break_glass_reason
    }
    head = (
        await session.execute(
            update(AuditHead)
            .where(col(AuditHead.id) == 1)
            .values(seq=col(AuditHead.seq) + len(entries))
            .returning(col(AuditHead.seq), col(AuditHead.hash))
        )
    ).one()
    first_seq, prev_hash = int(head[0]) - len(entries) + 1, str(head[1])
    request = current_request()
    rows: list[dict[str, Any]] = []
    for seq, entry in enumerate(entries, start=first_seq):
        reason_sha256 = reasons.get(entry.break_glass_reason) if entry.break_glass_reason else None
        fields = _fields(entry, seq, reason_sha256, request.request_id, request.client_address)
        new_hash = event_hash(prev_hash, fields)
        rows.append({**fields, "prev_hash": prev_hash, "hash": new_hash})
        prev_hash = new_hash
    move_head = update(AuditHead).where(col(AuditHead.id) == 1).values(hash=prev_hash)
    if len(rows) <= _ONE_STATEMENT_LIMIT and session.get_bind().dialect.name == "postgresql":
        # one round trip fewer while the head's lock is held: the head moves in a data-modifying
        # WITH of the INSERT, which PostgreSQL runs exactly once, in the same statement
        await session.execute(insert(AuditEvent).values(rows).add_cte(move_head.cte("moved_head")))
    else:
        await session.execute(insert(AuditEvent), rows)
        await session.execute(move_head)
    return [row["seq"] for row in rows]


def _fields(
    entry: AuditRecord, seq: int, reason_sha256: str | None, request_id: str | None, client_address: str | None
) -> dict[str, object]:
    return {
        "seq": seq,
        "occurred_at": entry.occurred_at,
        "actor_id": entry.actor.id,
        "actor_kind": entry.actor.kind.value,
        "actor_organisation_id": entry.actor.organisation_id,
        "actor_roles": sorted(role.value for role in entry.actor.roles),
        "action": entry.action,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "child_id": entry.child_id,
        "purpose": entry.purpose,
        "basis": entry.basis,
        "consent_id": entry.consent_id,
        "decision": entry.decision,
        "reason": entry.reason[:500],
        "break_glass": entry.break_glass,
        "break_glass_reason": None,  # the text stays out of the chain
        "break_glass_reason_sha256": reason_sha256,
        "request_id": request_id,
        "client_address": client_address,
    }


async def queue_break_glass_review(session: AsyncSession, *, seq: int, entry: AuditRecord) -> None:
    """Put an emergency access (already audited as `seq`) in the auditors' review queue."""
    if entry.child_id is None or not entry.break_glass_reason:
        raise ValueError("a break-glass review needs the child and the reason")
    session.add(
        BreakGlassReview(
            audit_seq=seq,
            actor_id=entry.actor.id,
            actor_organisation_id=entry.actor.organisation_id,
            child_id=entry.child_id,
            reason_sha256=await free_text.keep(session, entry.break_glass_reason),
            accessed_at=entry.occurred_at,
        )
    )
    await session.flush()
