"""Every query of the audit trail and the break-glass review queue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Uuid, column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import AuditCheckpoint, AuditEvent, BreakGlassReview

# The audit trail imports no domain; it names the organisation table only to show who acted.
_organisation = table("organisation", column("id", Uuid()), column("code", String()), column("name", String()))


@dataclass(frozen=True, slots=True, kw_only=True)
class EventFilter:
    child_id: uuid.UUID | None = None
    actor_id: str | None = None
    organisation_id: uuid.UUID | None = None
    action: str | None = None
    resource_id: str | None = None
    decision: str | None = None
    purpose: str | None = None
    break_glass: bool | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


def _filtered(query, where: EventFilter):  # type: ignore[no-untyped-def]
    conditions = {
        AuditEvent.child_id: where.child_id,
        AuditEvent.actor_id: where.actor_id,
        AuditEvent.actor_organisation_id: where.organisation_id,
        AuditEvent.action: where.action,
        AuditEvent.resource_id: where.resource_id,
        AuditEvent.decision: where.decision,
        AuditEvent.purpose: where.purpose,
        AuditEvent.break_glass: where.break_glass,
    }
    for attribute, value in conditions.items():
        if value is not None:
            query = query.where(attribute == value)
    if where.occurred_from is not None:
        query = query.where(AuditEvent.occurred_at >= where.occurred_from)  # type: ignore[operator]
    if where.occurred_to is not None:
        query = query.where(AuditEvent.occurred_at < where.occurred_to)  # type: ignore[operator]
    return query


async def search(session: AsyncSession, where: EventFilter, *, after_seq: int, limit: int) -> list[AuditEvent]:
    query = _filtered(select(AuditEvent), where).where(AuditEvent.seq > after_seq)  # type: ignore[operator]
    rows = await session.execute(query.order_by(AuditEvent.seq).limit(limit))
    return list(rows.scalars())


async def search_values(
    session: AsyncSession, where: EventFilter, fields: tuple[str, ...], *, after_seq: int, limit: int
) -> list[tuple]:
    """As `search`, but only the named columns as plain tuples (no ORM objects): for exports,
    which read the whole trail and must stay fast and small."""
    columns = [getattr(AuditEvent, name) for name in fields]
    query = _filtered(select(*columns), where).where(AuditEvent.seq > after_seq)  # type: ignore[operator]
    rows = await session.execute(query.order_by(AuditEvent.seq).limit(limit))  # type: ignore[arg-type]
    return [tuple(row) for row in rows]


async def break_glass_reviews(
    session: AsyncSession, *, pending_only: bool, after_seq: int, limit: int
) -> list[BreakGlassReview]:
    query = select(BreakGlassReview).where(BreakGlassReview.audit_seq > after_seq)  # type: ignore[operator]
    if pending_only:
        query = query.where(BreakGlassReview.reviewed_at.is_(None))  # type: ignore[union-attr]
    rows = await session.execute(query.order_by(BreakGlassReview.audit_seq).limit(limit))
    return list(rows.scalars())


async def get_break_glass(session: AsyncSession, review_id: uuid.UUID) -> BreakGlassReview | None:
    return (
        await session.execute(
            select(BreakGlassReview).where(BreakGlassReview.id == review_id).with_for_update()  # type: ignore[arg-type]
        )
    ).scalar_one_or_none()


async def child_accesses(
    session: AsyncSession, child_id: uuid.UUID, *, allowed_only: bool
) -> list[tuple[AuditEvent, str | None, str | None]]:
    """Every event about a child with the acting organisation's code and name, oldest first."""
    query = (
        select(AuditEvent, _organisation.c.code, _organisation.c.name)
        .outerjoin(_organisation, _organisation.c.id == AuditEvent.actor_organisation_id)
        .where(AuditEvent.child_id == child_id)  # type: ignore[arg-type]
        .order_by(AuditEvent.seq)
    )
    if allowed_only:
        query = query.where(AuditEvent.decision == "allow")  # type: ignore[arg-type]
    return [(row[0], row[1], row[2]) for row in await session.execute(query)]


async def checkpoints(session: AsyncSession, *, limit: int) -> list[AuditCheckpoint]:
    rows = await session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(limit))  # type: ignore[attr-defined]
    return list(rows.scalars())
