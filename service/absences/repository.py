"""Every query of absence figures, batches and rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.absences.models import AbsenceBatch, AbsenceReport, AbsenceRule
from service.children.models import Child, Enrolment


async def enrolled_children(
    session: AsyncSession, school_id: uuid.UUID, pin_hashes: Sequence[str], today: date
) -> dict[str, tuple[uuid.UUID, str | None, int]]:
    """pin_hash → (child id, address municipality, grade) for pupils currently enrolled at the school."""
    rows = await session.execute(
        select(col(Child.pin_hash), col(Child.id), col(Child.municipality_code), col(Enrolment.grade))
        .join(Enrolment, col(Enrolment.child_id) == col(Child.id))
        .where(
            col(Child.pin_hash).in_(list(pin_hashes)),
            col(Enrolment.school_id) == school_id,
            col(Enrolment.start_date) <= today,
            or_(col(Enrolment.end_date).is_(None), col(Enrolment.end_date) >= today),
        )
    )
    # every pin_hash here matched one of `pin_hashes`, so none is NULL
    return {
        cast(str, pin_hash): (child_id, municipality, grade) for pin_hash, child_id, municipality, grade in rows
    }


async def upsert_reports(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert figures; a pupil-month the school already reported is replaced."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(AbsenceReport)
    statement = statement.on_conflict_do_update(
        index_elements=["school_id", "child_id", "month"],
        set_={
            "unexcused_hours": statement.excluded.unexcused_hours,
            "excused_hours": statement.excluded.excused_hours,
            "unit": statement.excluded.unit,
            "batch_id": statement.excluded.batch_id,
            "updated_at": statement.excluded.updated_at,
        },
    )
    await session.execute(statement, rows)


async def months_over(
    session: AsyncSession, child_ids: Sequence[uuid.UUID], months: Sequence[str], threshold: int,
    unit: str = "hours",
) -> dict[uuid.UUID, set[str]]:
    """For each child, the months among `months` in which some school reported more than
    `threshold` unexcused hours (or days, for `unit` days)."""
    found: dict[uuid.UUID, set[str]] = {}
    rows = await session.execute(
        select(col(AbsenceReport.child_id), col(AbsenceReport.month)).where(
            and_(
                col(AbsenceReport.child_id).in_(list(child_ids)),
                col(AbsenceReport.month).in_(list(months)),
                col(AbsenceReport.unexcused_hours) > threshold,
                col(AbsenceReport.unit) == unit,
            )
        )
    )
    for child_id, month in rows:
        found.setdefault(child_id, set()).add(month)
    return found


async def add_batch(session: AsyncSession, batch: AbsenceBatch) -> None:
    session.add(batch)
    await session.flush()


async def get_batch(session: AsyncSession, batch_id: uuid.UUID) -> AbsenceBatch | None:
    return await session.get(AbsenceBatch, batch_id)


async def rules(session: AsyncSession) -> list[AbsenceRule]:
    return list((await session.execute(select(AbsenceRule).order_by(AbsenceRule.name))).scalars())


async def replace_rules(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(delete(AbsenceRule))
    if rows:
        await session.execute(insert(AbsenceRule), rows)


async def move_child_figures(session: AsyncSession, *, source: uuid.UUID, kept: uuid.UUID) -> int:
    """Merging a provisional child: its figures become the kept child's; a figure the kept child
    already has for the same school and month stays."""
    kept_months = (
        await session.execute(
            select(col(AbsenceReport.school_id), col(AbsenceReport.month)).where(col(AbsenceReport.child_id) == kept)
        )
    ).all()
    for school_id, month in kept_months:
        await session.execute(
            delete(AbsenceReport).where(
                col(AbsenceReport.child_id) == source,
                col(AbsenceReport.school_id) == school_id,
                col(AbsenceReport.month) == month,
            )
        )
    result = await session.execute(
        update(AbsenceReport).where(col(AbsenceReport.child_id) == source).values(child_id=kept)
    )
    return cast(CursorResult[Any], result).rowcount
