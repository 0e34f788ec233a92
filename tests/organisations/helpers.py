"""Reading the audit trail from tests of the administration API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from service.audit.models import AuditEvent
from service.core.database import Database


async def audit_head_seq(database: Database) -> int:
    async with database.transaction() as session:
        return int(
            (await session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0)))).scalar_one()
        )


async def audit_events_after(database: Database, seq: int) -> list[AuditEvent]:
    async with database.transaction() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)  # type: ignore[arg-type]
        )
        return list(rows.scalars())


def column_values(event: AuditEvent) -> list[str]:
    """Every stored column of an event, as text, for searching for leaked values."""
    values: list[Any] = [getattr(event, column.name) for column in AuditEvent.__table__.columns]  # type: ignore[attr-defined]
    return [str(value) for value in values if value is not None]


def assert_nothing_leaked(event: AuditEvent, *secrets: str) -> None:
    for value in column_values(event):
        for secret in secrets:
            assert secret not in value, f"{secret!r} leaked into audit event {event.seq}: {value!r}"
