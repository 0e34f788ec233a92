"""Linking recorded events into the hash chain: the sequencer.

Requests record events into `audit_pending` and commit without touching any shared row. A linker
then, in one transaction of its own:

1. takes the chain's head (`audit_head`, row-locked: only linkers ever take it);
2. reads up to `BATCH` pending events, ordered by (inserting transaction id, insertion order);
3. gives them the next positions, hashes each onto the previous one, inserts them into
   `audit_event`, fills in the `audit_seq` of the emergency accesses among them, deletes them
   from `audit_pending` and moves the head.

Either all of that commits or none of it, so an event is pending or linked, never lost or
linked twice. Only committed events are visible to the linker, so an event linked in one batch
committed before every event of the next batch was read; within a batch the order is by
transaction id, so an event whose transaction started after another's had written comes after it.

On PostgreSQL one linker runs at a time across all API and worker processes: each takes a
transaction-scoped advisory lock and skips its turn when another holds it, and a linker that
dies releases the lock with its connection, so another takes over on its next turn. SQLite (and
a session bound to a test's rolled-back transaction) links in the request instead
(`link_in_transaction`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import Gauge, Histogram
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.chain import PENDING_FIELDS, event_hash
from service.audit.models import AuditEvent, AuditHead, AuditPending, BreakGlassReview
from service.core.database import Database

log = structlog.get_logger("service.audit.sequencer")

#: events linked per transaction
BATCH = 2000
#: the advisory lock that makes one linker at a time ("obhvat-audit-link" folded to 63 bits)
ADVISORY_LOCK = 0x0B_4A_7A_0D_17_11_4B
_PENDING_COLUMNS = [col(AuditPending.id), *(getattr(AuditPending, name) for name in PENDING_FIELDS)]

LINK_LAG = Histogram(
    "obhvat_audit_link_lag_seconds",
    "Time from recording an audit event to linking it into the chain",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
UNLINKED = Gauge("obhvat_audit_unlinked_events", "Audit events recorded and not yet linked into the chain")
OLDEST_UNLINKED = Gauge(
    "obhvat_audit_oldest_unlinked_seconds", "Age of the oldest audit event not yet linked (0 when none)"
)


async def _link_batch(session: AsyncSession) -> int:
    """Link up to `BATCH` pending events visible to this transaction; how many were linked."""
    head = (
        await session.execute(
            select(col(AuditHead.seq), col(AuditHead.hash)).where(col(AuditHead.id) == 1).with_for_update()
        )
    ).one()
    pending = (
        await session.execute(
            select(*_PENDING_COLUMNS).order_by(col(AuditPending.txid), col(AuditPending.id)).limit(BATCH)
        )
    ).mappings().all()
    if not pending:
        return 0
    seq, prev_hash = int(head[0]), str(head[1])
    events: list[dict[str, Any]] = []
    reviews: list[dict[str, int]] = []
    for row in pending:
        seq += 1
        fields = {name: row[name] for name in PENDING_FIELDS}
        fields["seq"] = seq
        new_hash = event_hash(prev_hash, fields)
        events.append({**fields, "prev_hash": prev_hash, "hash": new_hash})
        prev_hash = new_hash
        if row["break_glass"]:
            reviews.append({"pending": row["id"], "linked": seq})
    await session.execute(insert(AuditEvent), events)
    await session.execute(delete(AuditPending).where(col(AuditPending.id).in_([row["id"] for row in pending])))
    if reviews:
        review = BreakGlassReview.metadata.tables["break_glass_review"]
        linked = update(review).where(review.c.audit_pending_id == bindparam("pending"))
        await session.execute(linked.values(audit_seq=bindparam("linked")), reviews)  # Core: one statement
    await session.execute(update(AuditHead).where(col(AuditHead.id) == 1).values(seq=seq, hash=prev_hash))
    now = datetime.now(UTC)
    for event in events:
        LINK_LAG.observe(max(0.0, (now - _aware(event["occurred_at"])).total_seconds()))
    return len(events)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def link_in_transaction(session: AsyncSession) -> int:
    """Link every pending event this transaction sees, its own included (SQLite, or a session
    bound to a test's transaction); holds the head until the transaction ends."""
    linked = 0
    while (count := await _link_batch(session)) > 0:
        linked += count
        if count < BATCH:
            break
    return linked


async def link_committed(database: Database) -> int:
    """One linker turn: link committed events, a batch per transaction, until none is left or
    another process holds the linker's lock; how many were linked."""
    linked = 0
    while True:
        async with database.transaction() as session:
            if session.get_bind().dialect.name == "postgresql":
                taken = await session.execute(select(func.pg_try_advisory_xact_lock(ADVISORY_LOCK)))
                if not taken.scalar_one():
                    return linked
            count = await _link_batch(session)
        linked += count
        if count < BATCH:
            return linked


async def backlog(session: AsyncSession) -> tuple[int, float | None]:
    """How many events wait to be linked, and the oldest one's age in seconds (None if none)."""
    count, oldest = (
        await session.execute(select(func.count(), func.min(col(AuditPending.occurred_at))))
    ).one()
    age = None if oldest is None else max(0.0, (datetime.now(UTC) - _aware(oldest)).total_seconds())
    return int(count), age


async def _publish_backlog(database: Database) -> None:
    async with database.transaction() as session:
        count, age = await backlog(session)
    UNLINKED.set(count)
    OLDEST_UNLINKED.set(age or 0.0)


async def run(database: Database, *, interval: float) -> None:
    """Link committed events every `interval` seconds (at once again while a turn fills whole
    batches) until cancelled; publishes the backlog for `/metrics` about once a second."""
    turns_per_report = max(1, round(1.0 / interval))
    turn = 0
    while True:
        try:
            linked = await link_committed(database)
            turn += 1
            if turn % turns_per_report == 0:
                await _publish_backlog(database)
        except asyncio.CancelledError:
            raise
        except Exception:
            # e.g. an event forged into audit_event holds the next position: nothing is lost
            # (the events stay pending), the backlog grows, and verification says why
            log.exception("audit.link_failed")
            linked = 0
            await asyncio.sleep(min(5.0, interval * 20))
        if linked < BATCH:
            await asyncio.sleep(interval)
