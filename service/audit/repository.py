"""Every query of the audit trail, its erasable free text and the break-glass review queue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, String, Uuid, and_, column, insert, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col

from service.audit.models import AuditCheckpoint, AuditEvent, AuditFreeText, BreakGlassReview

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


_Query = TypeVar("_Query", bound="Select[Any]")


def _filtered(query: _Query, where: EventFilter) -> _Query:
    conditions: dict[Mapped[Any], object] = {
        col(AuditEvent.child_id): where.child_id,
        col(AuditEvent.actor_id): where.actor_id,
        col(AuditEvent.actor_organisation_id): where.organisation_id,
        col(AuditEvent.action): where.action,
        col(AuditEvent.resource_id): where.resource_id,
        col(AuditEvent.decision): where.decision,
        col(AuditEvent.purpose): where.purpose,
        col(AuditEvent.break_glass): where.break_glass,
    }
    for attribute, value in conditions.items():
        if value is not None:
            query = query.where(attribute == value)
    if where.occurred_from is not None:
        query = query.where(col(AuditEvent.occurred_at) >= where.occurred_from)
    if where.occurred_to is not None:
        query = query.where(col(AuditEvent.occurred_at) < where.occurred_to)
    return query


async def search(session: AsyncSession, where: EventFilter, *, after_seq: int, limit: int) -> list[AuditEvent]:
    query = _filtered(select(AuditEvent), where).where(col(AuditEvent.seq) > after_seq)
    rows = await session.execute(query.order_by(col(AuditEvent.seq)).limit(limit))
    return list(rows.scalars())


async def search_values(
    session: AsyncSession, where: EventFilter, fields: tuple[str, ...], *, after_seq: int, limit: int
) -> list[tuple[Any, ...]]:
    """As `search`, but only the named columns as plain tuples (no ORM objects): for exports,
    which read the whole trail and must stay fast and small."""
    columns = [getattr(AuditEvent, name) for name in fields]
    query = _filtered(select(*columns), where).where(col(AuditEvent.seq) > after_seq)
    rows = await session.execute(query.order_by(col(AuditEvent.seq)).limit(limit))
    return [tuple(row) for row in rows]


async def break_glass_reviews(
    session: AsyncSession, *, pending_only: bool, after_seq: int, limit: int
) -> list[BreakGlassReview]:
    # a review joins the queue once its access's event is linked (the sequencer's lag)
    query = select(BreakGlassReview).where(col(BreakGlassReview.audit_seq) > after_seq)
    if pending_only:
        query = query.where(col(BreakGlassReview.reviewed_at).is_(None))
    rows = await session.execute(query.order_by(col(BreakGlassReview.audit_seq)).limit(limit))
    return list(rows.scalars())


async def get_break_glass(session: AsyncSession, review_id: uuid.UUID) -> BreakGlassReview | None:
    return (
        await session.execute(
            select(BreakGlassReview).where(col(BreakGlassReview.id) == review_id).with_for_update()
        )
    ).scalar_one_or_none()


async def child_accesses(
    session: AsyncSession, child_id: uuid.UUID, *, allowed_only: bool
) -> list[tuple[AuditEvent, str | None, str | None]]:
    """Every event about a child with the acting organisation's code and name, oldest first."""
    query = (
        select(AuditEvent, _organisation.c.code, _organisation.c.name)
        .outerjoin(_organisation, _organisation.c.id == col(AuditEvent.actor_organisation_id))
        .where(col(AuditEvent.child_id) == child_id)
        .order_by(col(AuditEvent.seq))
    )
    if allowed_only:
        query = query.where(col(AuditEvent.decision) == "allow")
    return [(row[0], row[1], row[2]) for row in await session.execute(query)]


async def checkpoints(
    session: AsyncSession, *, limit: int, before: tuple[int, uuid.UUID] | None
) -> list[AuditCheckpoint]:
    """Newest first, keyset on (seq, id)."""
    seq, identifier = col(AuditCheckpoint.seq), col(AuditCheckpoint.id)
    query = select(AuditCheckpoint).order_by(seq.desc(), identifier.desc()).limit(limit)
    if before is not None:
        query = query.where(or_(seq < before[0], and_(seq == before[0], identifier < before[1])))
    return list((await session.execute(query)).scalars())


async def add_free_text(session: AsyncSession, *, sha256: str, salt: str, text: str, created_at: datetime) -> None:
    await session.execute(insert(AuditFreeText).values(sha256=sha256, salt=salt, text=text, created_at=created_at))


async def free_texts(session: AsyncSession, sha256s: set[str]) -> list[tuple[str, str, str]]:
    """(sha256, salt, text) of the entries that still exist."""
    rows = await session.execute(
        select(col(AuditFreeText.sha256), col(AuditFreeText.salt), col(AuditFreeText.text)).where(
            col(AuditFreeText.sha256).in_(sha256s)
        )
    )
    return [(sha256, salt, text) for sha256, salt, text in rows]
