"""The queries of a list import, in bulk: a national list is tens of thousands of rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.alerts.models import Alert
from service.children.models import Child
from service.core.database import metadata

CHUNK = 1000


async def children_by_pin_hashes(session: AsyncSession, hashes: Sequence[str]) -> dict[str, uuid.UUID]:
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(hashes), CHUNK):
        rows = await session.execute(
            select(col(Child.pin_hash), col(Child.id)).where(col(Child.pin_hash).in_(hashes[start : start + CHUNK]))
        )
        found |= {str(digest): child_id for digest, child_id in rows.all()}
    return found


async def alert_states_by_keys(
    session: AsyncSession, pairs: Sequence[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], str]:
    """For (child, rule key) pairs: `open` when an open alert has them, else `closed` when only
    closed ones do; pairs without any alert are left out."""
    found: dict[tuple[uuid.UUID, str], str] = {}
    for start in range(0, len(pairs), CHUNK):
        chunk = set(pairs[start : start + CHUNK])
        rows = await session.execute(
            select(col(Alert.child_id), col(Alert.dedup_key), col(Alert.status)).where(
                col(Alert.child_id).in_({c for c, _ in chunk}), col(Alert.dedup_key).in_({k for _, k in chunk})
            )
        )
        for child_id, key, status in rows.all():
            if key is not None and (child_id, key) in chunk and found.get((child_id, key)) != "open":
                found[(child_id, key)] = status
    return found


async def children_by_keys(session: AsyncSession, keys: Sequence[str]) -> dict[str, uuid.UUID]:
    """The child of the alert raised earlier under each rule key (a provisional child's key
    names it, whoever it turned out to be)."""
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(keys), CHUNK):
        rows = await session.execute(
            select(col(Alert.dedup_key), col(Alert.child_id)).where(
                col(Alert.dedup_key).in_(keys[start : start + CHUNK])
            )
        )
        found |= {str(key): child_id for key, child_id in rows.all()}
    return found


async def insert_children(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """A Core insert of the table (the ORM's bulk path costs several times more per row)."""
    table = metadata.tables[Child.__tablename__]
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(table), rows[start : start + CHUNK])
