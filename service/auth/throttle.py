"""Slowing, then refusing, repeated failed logins — per username (or API client id) and per
client address.

Counts live in the database so every API process sees them. A username or client id is refused
after `USER_LIMIT` failures within the window (only that one: others are unaffected); an
address after `ADDRESS_LIMIT` (higher, because a school's whole staff may share one address).
From `SLOW_AFTER` failures on, each failed answer is delayed a little more."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import Column, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from service.core.clock import utcnow
from service.core.database import UtcDateTime

WINDOW = timedelta(minutes=15)
BLOCK = timedelta(minutes=15)
SLOW_AFTER = 5
USER_LIMIT = 10
ADDRESS_LIMIT = 50
MAX_DELAY_SECONDS = 4.0


class LoginThrottle(SQLModel, table=True):
    __tablename__ = "login_throttle"

    key: str = Field(sa_column=Column(String(300), primary_key=True))
    failures: int = 0
    window_started_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    blocked_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


def keys_for(username: str | None, address: str | None, *, kind: str = "user") -> list[str]:
    """Throttle keys for a login by a user's name (`kind="user"`) or an API client's id
    (`kind="client"`) from an address."""
    keys = []
    if username:
        keys.append(f"{kind}:" + username.strip().lower()[:200])
    if address:
        keys.append("addr:" + address[:100])
    return keys


async def retry_after(session: AsyncSession, keys: list[str], now: datetime | None = None) -> int | None:
    """Seconds until these keys may try again, or None when they may try now."""
    now = now or utcnow()
    rows = (await session.execute(select(LoginThrottle).where(col(LoginThrottle.key).in_(keys)))).scalars().all()
    waits = [row.blocked_until - now for row in rows if row.blocked_until and row.blocked_until > now]
    return max(1, math.ceil(max(waits).total_seconds())) if waits else None


async def record_failure(session: AsyncSession, keys: list[str], now: datetime | None = None) -> float:
    """Count a failed login against each key; returns how long to delay the answer."""
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
        per_address = key.startswith("addr:")
        limit = ADDRESS_LIMIT if per_address else USER_LIMIT
        if row.failures >= limit:
            row.blocked_until = now + BLOCK
        if not per_address and row.failures >= SLOW_AFTER:
            delay = max(delay, min(MAX_DELAY_SECONDS, 0.25 * 2 ** (row.failures - SLOW_AFTER)))
    await session.flush()
    return delay


async def record_success(session: AsyncSession, username: str, *, kind: str = "user") -> None:
    row = await session.get(LoginThrottle, keys_for(username, None, kind=kind)[0])
    if row is not None:
        await session.delete(row)
        await session.flush()
