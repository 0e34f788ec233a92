"""Recomputing the audit chain, and checking it against signed checkpoints.

Reads the trail in `seq` order in batches (memory stays flat), recomputes every hash and link,
and reports the first event that is wrong and how: a changed event (its hash no longer matches
its contents), a deleted one (a gap in `seq`), an inserted or reordered one (a link to the
previous hash that does not hold), or a truncated tail (the chain head, or a checkpoint kept
elsewhere, names events the trail no longer has).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import RowMapping, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.chain import HASHED_FIELDS, POSTGRES_CANONICAL_JSON, event_hash
from service.audit.models import GENESIS_HASH, AuditEvent, AuditHead

BATCH = 2000
_COLUMNS = [getattr(AuditEvent, name) for name in (*HASHED_FIELDS, "prev_hash", "hash")]


@dataclass
class Verification:
    ok: bool = True
    checked: int = 0
    first_bad_seq: int | None = None
    problem: str | None = None
    head: dict[str, Any] = field(default_factory=dict)

    def fail(self, seq: int, problem: str) -> None:
        if self.ok:
            self.ok, self.first_bad_seq, self.problem = False, seq, problem

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "head": self.head,
        }


def _by_name(row: RowMapping) -> Mapping[str, Any]:
    """A row of `_COLUMNS` keyed by column name (every key of such a mapping is a string)."""
    return cast("Mapping[str, Any]", row)


async def _python_rows(session: AsyncSession, after: int) -> list[tuple[int, str, str, bool]]:
    """(seq, prev_hash, hash, whether the hash matches the contents) for a batch, each event's
    canonical form rebuilt in Python."""
    rows = (
        await session.execute(
            select(*_COLUMNS).where(col(AuditEvent.seq) > after).order_by(col(AuditEvent.seq)).limit(BATCH)
        )
    ).mappings()
    return [
        (row["seq"], row["prev_hash"], row["hash"], event_hash(row["prev_hash"], _by_name(row)) == row["hash"])
        for row in rows
    ]


_POSTGRES_BATCH = text(
    f"SELECT seq, prev_hash, hash, {POSTGRES_CANONICAL_JSON} FROM audit_event "  # noqa: S608 (no input in it)
    "WHERE seq > :after ORDER BY seq LIMIT :limit"
)


async def _postgres_rows(session: AsyncSession, after: int) -> list[tuple[int, str, str, bool]]:
    """The same, with PostgreSQL building the canonical form (four times faster). An event whose
    SQL form does not hash right is judged again by the Python form, which is the authority."""
    rows = (await session.execute(_POSTGRES_BATCH, {"after": after, "limit": BATCH})).all()
    checked = []
    for seq, prev_hash, stored, canonical in rows:
        matches = hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest() == stored
        if not matches:
            fields = (await session.execute(select(*_COLUMNS).where(col(AuditEvent.seq) == seq))).mappings().one()
            matches = event_hash(prev_hash, _by_name(fields)) == stored
        checked.append((seq, prev_hash, stored, matches))
    return checked


async def _rows(session: AsyncSession) -> AsyncIterator[tuple[int, str, str, bool]]:
    """All events in seq order, fetched in keyset batches (memory stays flat)."""
    batch = _postgres_rows if session.get_bind().dialect.name == "postgresql" else _python_rows
    after = 0
    while rows := await batch(session, after):
        for row in rows:
            yield row
        after = rows[-1][0]


async def verify_chain(session: AsyncSession, *, progress: Callable[[int], None] | None = None) -> Verification:
    result = Verification()
    expected_seq, previous_hash = 1, GENESIS_HASH
    async for seq, prev_hash, stored_hash, contents_match in _rows(session):
        if result.ok:
            if seq != expected_seq:
                result.fail(expected_seq, f"event {expected_seq} is missing (the trail jumps to {seq})")
            elif prev_hash != previous_hash:
                result.fail(
                    seq,
                    "the link to the previous event does not hold (an event was inserted, "
                    "removed or reordered before this one)",
                )
            elif not contents_match:
                result.fail(seq, "the event's contents do not match its hash (it was changed)")
        result.checked += 1
        expected_seq, previous_hash = seq + 1, stored_hash
        if progress is not None:
            progress(1)
    head = (await session.execute(select(col(AuditHead.seq), col(AuditHead.hash)).where(col(AuditHead.id) == 1))).one()
    result.head = {"seq": int(head[0]), "hash": head[1]}
    last_seq = expected_seq - 1
    if result.ok and (head[0] != last_seq or head[1] != previous_hash):
        if head[0] > last_seq:
            result.fail(
                last_seq + 1,
                f"the trail ends at event {last_seq} but its head records event {head[0]} (the tail was truncated)",
            )
        elif head[0] < last_seq:
            result.fail(head[0] + 1, f"events after the chain head ({head[0]}) were added outside the service")
        else:
            result.fail(last_seq, "the chain head does not match the last event")
    return result


async def check_checkpoint(session: AsyncSession, result: Verification, *, seq: int, hash_: str) -> Verification:
    """The chain must still contain the checkpointed event, unchanged: a truncation or a
    wholesale rewrite (re-hashed from the start) cannot keep an old signed hash."""
    query = select(col(AuditEvent.hash)).where(col(AuditEvent.seq) == seq)
    stored = (await session.execute(query)).scalar_one_or_none()
    if stored is None:
        result.fail(seq, f"checkpointed event {seq} is no longer in the trail (truncated)")
    elif stored != hash_:
        result.fail(seq, f"event {seq} differs from the signed checkpoint (the trail was rewritten)")
    return result
