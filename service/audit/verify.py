"""Recomputing the audit chain, and checking it against signed checkpoints.

Reads the trail in `seq` order in batches (memory stays flat), recomputes every hash and link,
and reports the first event that is wrong and how: a changed event (its hash no longer matches
its contents), a deleted one (a gap in `seq`), an inserted or reordered one (a link to the
previous hash that does not hold), or a truncated tail (the chain head, or a checkpoint kept
elsewhere, names events the trail no longer has).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit import sequencer
from service.audit.chain import POSTGRES_CANONICAL_JSON, STORED_FIELDS, event_hash
from service.audit.models import GENESIS_HASH, AuditEvent, AuditHead

BATCH = 2000
_COLUMNS = [getattr(AuditEvent, name) for name in STORED_FIELDS]


@dataclass
class Verification:
    ok: bool = True
    checked: int = 0
    first_bad_seq: int | None = None
    problem: str | None = None
    head: dict[str, Any] = field(default_factory=dict)
    #: events recorded and not yet linked into the chain, and the oldest one's age in seconds
    unlinked: int = 0
    oldest_unlinked_seconds: float | None = None

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
            "unlinked": self.unlinked,
            "oldest_unlinked_seconds": self.oldest_unlinked_seconds,
        }


def _by_name(row: RowMapping) -> Mapping[str, Any]:
    """A row of `_COLUMNS` keyed by column name (every key of such a mapping is a string)."""
    return cast("Mapping[str, Any]", row)


async def _python_rows(session: AsyncSession, after: int) -> list[tuple[int, str, str, bool | None]]:
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


_POSTGRES_COPY = (
    f"COPY (SELECT seq, prev_hash, hash, {POSTGRES_CANONICAL_JSON} FROM audit_event "  # noqa: S608 (no input)
    "ORDER BY seq) TO STDOUT"
)
_COPY_ESCAPES = re.compile(rb"\\\\([\\\\btnrvf]|[0-7]{1,3}|x[0-9A-Fa-f]{1,2})")
_COPY_ESCAPED = {b"\\": b"\\", b"b": b"\b", b"t": b"\t", b"n": b"\n", b"r": b"\r", b"v": b"\v", b"f": b"\f"}


def _copy_text(value: bytes) -> bytes:
    """A column of COPY's text format as the bytes it stands for (backslash escapes undone)."""
    if b"\\" not in value:
        return value

    def unescape(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code in _COPY_ESCAPED:
            return _COPY_ESCAPED[code]
        return bytes([int(code[1:], 16) if code.startswith(b"x") else int(code, 8)])

    return _COPY_ESCAPES.sub(unescape, value)


async def _postgres_rows(session: AsyncSession) -> AsyncIterator[tuple[int, str, str, bool | None]]:
    """Every event in seq order, PostgreSQL building the canonical form and streaming it with
    COPY (no row objects), Python hashing it. An event whose SQL form does not hash right comes
    out as undecided (None): the Python form, the authority, judges it after the stream."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None:
        raise RuntimeError("no database connection to stream the audit trail from")
    pending = b""
    sha256 = hashlib.sha256
    async with driver.cursor() as cursor, cursor.copy(_POSTGRES_COPY) as copy:
        async for block in copy:
            lines = (pending + bytes(block)).split(b"\n")
            pending = lines.pop()
            for line in lines:
                seq, prev_hash, stored, canonical = line.split(b"\t")
                matches = sha256(prev_hash + _copy_text(canonical)).hexdigest().encode() == stored
                yield int(seq), prev_hash.decode(), stored.decode(), True if matches else None


async def _python_judges(session: AsyncSession, seq: int, prev_hash: str, stored: str) -> bool:
    fields = (await session.execute(select(*_COLUMNS).where(col(AuditEvent.seq) == seq))).mappings().one()
    return event_hash(prev_hash, _by_name(fields)) == stored


async def _python_rows_all(session: AsyncSession) -> AsyncIterator[tuple[int, str, str, bool | None]]:
    """All events in seq order, each rebuilt in Python, in keyset batches (memory stays flat)."""
    after = 0
    while rows := await _python_rows(session, after):
        for row in rows:
            yield row
        after = rows[-1][0]


#: events whose SQL form did not hash right that are kept for the Python form to judge; past
#: this many (a bug in the SQL form, not tampering) the whole trail is verified in Python
SUSPECT_LIMIT = 10_000
_CHANGED = "the event's contents do not match its hash (it was changed)"


async def verify_chain(session: AsyncSession, *, progress: Callable[[int], None] | None = None) -> Verification:
    postgres = session.get_bind().dialect.name == "postgresql"
    rows = _postgres_rows(session) if postgres else _python_rows_all(session)
    result, suspects = await _walk(session, rows, progress)
    if len(suspects) > SUSPECT_LIMIT:
        result, _ = await _walk(session, _python_rows_all(session), None)
    else:
        for seq, prev_hash, stored in suspects:
            if result.first_bad_seq is not None and seq >= result.first_bad_seq:
                break
            if not await _python_judges(session, seq, prev_hash, stored):
                result.ok, result.first_bad_seq, result.problem = False, seq, _CHANGED
                break
    result.unlinked, result.oldest_unlinked_seconds = await sequencer.backlog(session)
    return result


async def _head(session: AsyncSession) -> tuple[int, str]:
    row = (await session.execute(select(col(AuditHead.seq), col(AuditHead.hash)).where(col(AuditHead.id) == 1))).one()
    return int(row[0]), str(row[1])


async def _walk(
    session: AsyncSession,
    rows: AsyncIterator[tuple[int, str, str, bool | None]],
    progress: Callable[[int], None] | None,
) -> tuple[Verification, list[tuple[int, str, str]]]:
    """Check positions, links and (where decided) contents of every event, then the head; the
    events whose contents are undecided before the first failure are returned to be judged."""
    result = Verification()
    suspects: list[tuple[int, str, str]] = []
    # the head first: the sequencer may link more events while the trail is read, and those are
    # judged against a later head below, not taken for a tail the head does not know
    head = await _head(session)
    beyond_head = False
    expected_seq, previous_hash = 1, GENESIS_HASH
    async for seq, prev_hash, stored_hash, contents_match in rows:
        if seq > head[0]:
            beyond_head = True
            result.checked += 1
            continue
        if result.ok:
            if seq != expected_seq:
                result.fail(expected_seq, f"event {expected_seq} is missing (the trail jumps to {seq})")
            elif prev_hash != previous_hash:
                result.fail(
                    seq,
                    "the link to the previous event does not hold (an event was inserted, "
                    "removed or reordered before this one)",
                )
            elif contents_match is False:
                result.fail(seq, _CHANGED)
            elif contents_match is None and len(suspects) <= SUSPECT_LIMIT:
                suspects.append((seq, prev_hash, stored_hash))
        result.checked += 1
        expected_seq, previous_hash = seq + 1, stored_hash
        if progress is not None:
            progress(1)
    result.head = {"seq": head[0], "hash": head[1]}
    last_seq = expected_seq - 1
    if result.ok and (head[0] != last_seq or head[1] != previous_hash):
        if head[0] > last_seq:
            result.fail(
                last_seq + 1,
                f"the trail ends at event {last_seq} but its head records event {head[0]} (the tail was truncated)",
            )
        else:
            result.fail(last_seq, "the chain head does not match the last event")
    if result.ok and beyond_head:
        # the highest event first, then the head: a linker committing in between only moves
        # the head further, so an event above the later head was not linked by the service
        highest = (await session.execute(select(func.max(col(AuditEvent.seq))))).scalar_one()
        later = await _head(session)
        if highest is not None and highest > later[0]:
            result.fail(later[0] + 1, f"events after the chain head ({later[0]}) were added outside the service")
    return result, suspects


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
