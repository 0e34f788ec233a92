"""Slowing, then refusing, repeated failed logins — per (username or API client id, address),
per address, and, only slowing, per username alone.

Usernames are predictable, so a name alone is never refused: that would let anyone lock a named
user out. A (name, address) pair is refused after `PAIR_LIMIT` failures within the window, an
address after `ADDRESS_LIMIT` (higher, because a school's whole staff may share one address);
from `SLOW_AFTER` failures of a pair, and from `NAME_SLOW_AFTER` failures of a name from
anywhere, each failed answer is delayed a little more. A correct password from an address that
never failed is answered at once. Names are compared stripped and case-folded.

The same counts slow down, per user, questions whether a child is known to child protection
(DESIGN §4 point 7): every question counts, and past `QUESTION_LIMIT` within the window the
user is refused for a while, so nobody sweeps the register one PIN after another.

Counts live in the database so every API process sees them."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import Column, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from service.auth.anonymous import address_key
from service.core.clock import utcnow
from service.core.database import UtcDateTime

WINDOW = timedelta(minutes=15)
BLOCK = timedelta(minutes=15)
SLOW_AFTER = 5
PAIR_LIMIT = 10
ADDRESS_LIMIT = 50
NAME_SLOW_AFTER = 50
MAX_DELAY_SECONDS = 4.0
QUESTION_LIMIT = 10


class LoginThrottle(SQLModel, table=True):
    __tablename__ = "login_throttle"

    key: str = Field(sa_column=Column(String(300), primary_key=True))
    failures: int = 0
    window_started_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    blocked_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


def normalised(name: str) -> str:
    """The name as the throttle counts it: `  School-Koprinka.Staff` is `school-koprinka.staff`."""
    return name.strip().casefold()[:150]


def _name_key(name: str, kind: str) -> str:
    return f"{kind}:{normalised(name)}"


def _pair_key(name: str, address: str | None, kind: str) -> str:
    return f"pair:{_name_key(name, kind)}|{address_key(address)}"


def keys_for(name: str, address: str | None, *, kind: str = "user") -> list[str]:
    """Throttle keys for a login by a user's name (`kind="user"`) or an API client's id
    (`kind="client"`) from an address: the pair, the address, the name alone."""
    return [_pair_key(name, address, kind), "addr:" + address_key(address), _name_key(name, kind)]


def question_key(principal_id: str) -> str:
    """The key a user's known-to-child-protection questions are counted under."""
    return f"known-to-cp:{principal_id}"


def _refusable(key: str) -> bool:
    return key.startswith(("pair:", "addr:", "known-to-cp:"))


def _delay(failures: int, slow_after: int) -> float:
    return min(MAX_DELAY_SECONDS, 0.25 * 2 ** (failures - slow_after)) if failures >= slow_after else 0.0


async def retry_after(session: AsyncSession, keys: list[str], now: datetime | None = None) -> int | None:
    """Seconds until this pair and address may try again, or None when they may try now (a name
    alone is never refused)."""
    now = now or utcnow()
    refusable = [key for key in keys if _refusable(key)]
    rows = (await session.execute(select(LoginThrottle).where(col(LoginThrottle.key).in_(refusable)))).scalars().all()
    waits = [row.blocked_until - now for row in rows if row.blocked_until and row.blocked_until > now]
    return max(1, math.ceil(max(waits).total_seconds())) if waits else None


async def record_failure(session: AsyncSession, keys: list[str], now: datetime | None = None) -> float:
    """Count a failed login (or a question, under its `question_key`) against each key;
    returns how long to delay the answer."""
    now = now or utcnow()
    delay = 0.0
    for key in keys:
        row = await session.get(LoginThrottle, key, with_for_update=True)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_started_at=now)
            session.add(row)
        if now - row.window_started_at > WINDOW:
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        if key.startswith("pair:"):
            if row.failures >= PAIR_LIMIT:
                row.blocked_until = now + BLOCK
            delay = max(delay, _delay(row.failures, SLOW_AFTER))
        elif key.startswith("addr:"):
            if row.failures >= ADDRESS_LIMIT:
                row.blocked_until = now + BLOCK
        elif key.startswith("known-to-cp:"):
            if row.failures >= QUESTION_LIMIT:
                row.blocked_until = now + BLOCK
        else:
            delay = max(delay, _delay(row.failures, NAME_SLOW_AFTER))
    await session.flush()
    return delay


async def record_success(session: AsyncSession, name: str, address: str | None, *, kind: str = "user") -> None:
    """A correct login clears its pair's count (not the name's: failures from elsewhere stand)."""
    await session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == _pair_key(name, address, kind)))
