"""Recording events and learning their positions in the chain, for tests whose database links
in the request (SQLite, or the rolled-back PostgreSQL transaction): the events recorded last
are the chain's last."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.models import AuditHead
from service.audit.service import AuditRecord, record_many
from service.core.database import links_in_request


async def record_linked(session: AsyncSession, *entries: AuditRecord) -> list[int]:
    """Record `entries` and return the `seq` each was linked at."""
    assert links_in_request(session), "only a session that links in the request knows the positions at once"
    await record_many(session, list(entries))
    head = (await session.execute(select(col(AuditHead.seq)).where(col(AuditHead.id) == 1))).scalar_one()
    return list(range(head - len(entries) + 1, head + 1))
