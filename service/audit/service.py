"""Recording audit events, inside the caller's transaction.

A change and its audit event commit together: `record` inserts the event into `audit_pending`
in the session the caller is already using, touching no row any other request touches. The
sequencer links it into the hash chain after commit (`service.audit.sequencer`); on SQLite, and
wherever the session says so (`link_in_request`), it is linked before `record` returns. Denials
are recorded by the problem handler in a transaction of their own, because the request's own
transaction is rolled back when it fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import BigInteger, ColumnClause, insert, literal_column
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit import free_text, sequencer
from service.audit.models import AuditPending, BreakGlassReview
from service.core.context import current_request
from service.core.database import links_in_request

#: PostgreSQL's id of the inserting transaction, as a plain integer
_TRANSACTION_ID: ColumnClause[int] = literal_column("pg_current_xact_id()::text::bigint", BigInteger())


class Actor(Protocol):
    """Who acted, as the trail records it (the access module's principal is one)."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def organisation_id(self) -> uuid.UUID | None: ...

    @property
    def roles(self) -> Set[str]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """What happened, by whom, to what. Never names, PINs or notes: `reason` is fixed wording,
    and a break-glass reason (free text) reaches the chain only as the SHA-256 of its entry in
    the erasable `audit_free_text`."""

    actor: Actor
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
    #: an emergency access: queued for an auditor's review with the event (needs the child
    #: and the reason)
    for_review: bool = False
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


async def record(session: AsyncSession, entry: AuditRecord) -> int:
    """Record `entry` in the caller's transaction; returns its id among the pending events."""
    return (await record_many(session, [entry]))[-1]


async def record_many(session: AsyncSession, entries: list[AuditRecord]) -> list[int]:
    """Record several events (e.g. one per child on a page that was read) in one statement;
    returns their pending ids, in order."""
    if not entries:
        return []
    reasons = {
        e.break_glass_reason: await free_text.keep(session, e.break_glass_reason)
        for e in entries
        if e.break_glass_reason
    }
    request = current_request()
    rows = [
        _fields(
            entry,
            reasons.get(entry.break_glass_reason) if entry.break_glass_reason else None,
            request.request_id,
            request.client_address,
        )
        for entry in entries
    ]
    statement = insert(AuditPending).returning(col(AuditPending.id), sort_by_parameter_order=True)
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = statement.values(txid=_TRANSACTION_ID if postgres else 0)
    ids = [int(pending_id or 0) for pending_id in (await session.execute(statement, rows)).scalars()]
    reviews = [
        _review(entry, pending_id, reasons)
        for entry, pending_id in zip(entries, ids, strict=True)
        if entry.for_review
    ]
    if reviews:
        await session.execute(insert(BreakGlassReview), reviews)
    if links_in_request(session):
        await sequencer.link_in_transaction(session)
    return ids


def _fields(
    entry: AuditRecord, reason_sha256: str | None, request_id: str | None, client_address: str | None
) -> dict[str, Any]:
    return {
        "occurred_at": entry.occurred_at,
        "actor_id": entry.actor.id,
        "actor_kind": str(entry.actor.kind),
        "actor_organisation_id": entry.actor.organisation_id,
        "actor_roles": sorted(str(role) for role in entry.actor.roles),
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


def _review(entry: AuditRecord, pending_id: int, reasons: dict[str, str]) -> dict[str, Any]:
    if entry.child_id is None or not entry.break_glass_reason:
        raise ValueError("a break-glass review needs the child and the reason")
    reason_sha256 = reasons[entry.break_glass_reason]
    return {
        "id": uuid.uuid4(),
        "audit_pending_id": pending_id,
        "actor_id": entry.actor.id,
        "actor_organisation_id": entry.actor.organisation_id,
        "child_id": entry.child_id,
        "reason_sha256": reason_sha256,
        "accessed_at": entry.occurred_at,
    }
