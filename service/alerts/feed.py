"""Positions in the inbox feed, handed out in a way a poller following `next` can trust.

A poller asks for changes after the position it last saw. It must never pass a position that a
transaction still in flight can later commit below. Two ways to keep that promise, one per mode
(the session's `link_in_request`, see `service.core.database.Database`):

- **Counter** (SQLite, and tests inside a rolled-back transaction): the `feed_counter` row,
  incremented and locked to commit, so positions are handed out in commit order. Readers need
  no filter.
- **Commit-order horizon** (PostgreSQL): a position is `(transaction id << 20) | ordinal`, the
  ordinal counting the transaction's stamps. Nothing is locked. Readers return only positions
  below `pg_snapshot_xmin(pg_current_snapshot()) << 20`, evaluated in the reading statement:
  every transaction below that id has ended, and one still in flight (or yet to start) has an id
  at or above it, so it can only commit positions above any a poller was shown.

Positions stay integers in the API; on PostgreSQL they are just large (and larger than every
position the counter handed out, so a cursor kept from the counter era still works).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, literal_column, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import col

from service.alerts.models import FeedCounter
from service.core.database import links_in_request

ORDINAL_BITS = 20
#: stamps one transaction may make (each change of an alert or notice takes one)
MAX_ORDINALS = (1 << ORDINAL_BITS) - 1
_ORDINAL_KEY = "feed_ordinal"


class FeedFull(RuntimeError):
    """A transaction asked for more feed positions than its transaction id has room for."""


def counter_mode(session: AsyncSession) -> bool:
    """True when positions come from the locked counter; False for the commit-order horizon.
    The same switch as the audit chain's: the session's `link_in_request`."""
    return links_in_request(session)


async def positions(session: AsyncSession, count: int) -> list[int]:
    """`count` new feed positions, ascending, for changes made in this transaction."""
    if count <= 0:
        return []
    if counter_mode(session):
        last = int(
            (
                await session.execute(
                    update(FeedCounter)
                    .where(col(FeedCounter.id) == 1)
                    .values(seq=col(FeedCounter.seq) + count)
                    .returning(col(FeedCounter.seq))
                )
            ).scalar_one()
        )
        return list(range(last - count + 1, last + 1))
    xid = int((await session.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar_one())
    used_by, used = session.info.get(_ORDINAL_KEY, (None, 0))
    start = used if used_by == xid else 0
    if start + count > MAX_ORDINALS:
        raise FeedFull(
            f"one transaction may make at most {MAX_ORDINALS} feed changes; "
            f"this one asked for {start + count}: split the work into several transactions"
        )
    session.info[_ORDINAL_KEY] = (xid, start + count)
    base = xid << ORDINAL_BITS
    return [base | ordinal for ordinal in range(start + 1, start + count + 1)]


#: the first position a transaction still in flight could commit (PostgreSQL only), taken from
#: the reading statement's own snapshot
HORIZON = f"(pg_snapshot_xmin(pg_current_snapshot())::text::bigint << {ORDINAL_BITS})"


def settled(session: AsyncSession, position: Mapped[int] | ColumnElement[int]) -> ColumnElement[bool] | None:
    """The condition a reader adds so it never shows a position an earlier one may still join;
    None in counter mode (positions are handed out in commit order)."""
    if counter_mode(session):
        return None
    return position < literal_column(HORIZON)
