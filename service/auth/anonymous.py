"""Requests that carry no valid credentials: throttled per client address in memory, and
counted into one audit event per address and minute (DESIGN §4).

Such a request is not a decision about anyone, so it must cost no database work: a token bucket
per address (an IPv6 address counts by its /64) admits a burst, then a steady rate; past it the
answer is a 429 with Retry-After. Every such request is counted; `flush` writes the counts of
minutes that have ended (all of them at shutdown) as one `authenticate`/`deny` event per address
and minute, its count in the reason. Each API process keeps its own buckets and counts."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.access.principal import ANONYMOUS
from service.audit.service import AuditRecord, record
from service.core.clock import utcnow
from service.core.context import RequestFacts, request_facts
from service.core.database import Database
from service.core.problems import TooManyRequests, Unauthenticated

#: past this many tracked addresses, buckets that have filled up again are forgotten
MAX_TRACKED_ADDRESSES = 100_000
UNKNOWN_ADDRESS = "unknown"


class CredentialsRefused(Unauthenticated):
    """A 401 for a request without valid credentials: counted per address and minute, not
    audited one by one."""


class AnonymousThrottled(TooManyRequests):
    def __init__(self, seconds: int) -> None:
        super().__init__(
            "too many requests without valid credentials from this address; try again later",
            headers={"Retry-After": str(seconds)},
        )


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_at: datetime


@dataclass(slots=True)
class _Count:
    requests: int = 0
    throttled: int = 0


def address_key(address: str | None) -> str:
    """The throttled unit: the address, or its /64 for IPv6 (one host holds a whole /64)."""
    if not address:
        return UNKNOWN_ADDRESS
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class AnonymousRequests:
    """Token buckets and per-minute counts of requests without valid credentials."""

    def __init__(self, *, burst: int, per_minute: int, clock: Callable[[], datetime] = utcnow) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._counts: dict[tuple[str, datetime], _Count] = {}

    def refuse(self, address: str | None) -> Unauthenticated | TooManyRequests:
        """Count this request; the problem to answer it with (401, or 429 past the limit)."""
        key = address_key(address)
        now = self.clock()
        count = self._counts.setdefault((key, _minute(now)), _Count())
        count.requests += 1
        wait = self._take(key, now)
        if wait is None:
            return CredentialsRefused()
        count.throttled += 1
        return AnonymousThrottled(wait)

    def throttled(self, address: str | None, problem: TooManyRequests) -> TooManyRequests:
        """Count a request refused by another throttle (failed logins); the problem to answer with."""
        count = self._counts.setdefault((address_key(address), _minute(self.clock())), _Count())
        count.requests += 1
        count.throttled += 1
        return problem

    def _take(self, key: str, now: datetime) -> int | None:
        """Take a token from the address's bucket; None when there was one, else the seconds
        until there will be."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED_ADDRESSES:
                self._forget_full_buckets(now)
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated_at=now)
        elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
        bucket.updated_at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def _forget_full_buckets(self, now: datetime) -> None:
        refill = timedelta(seconds=self.burst / self.rate)
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated_at < refill}

    def _take_due(self, *, everything: bool) -> list[tuple[str, datetime, _Count]]:
        current = _minute(self.clock())
        due = sorted(key for key in self._counts if everything or key[1] < current)
        return [(address, minute, self._counts.pop((address, minute))) for address, minute in due]

    def _restore(self, taken: list[tuple[str, datetime, _Count]]) -> None:
        for address, minute, count in taken:
            kept = self._counts.setdefault((address, minute), _Count())
            kept.requests += count.requests
            kept.throttled += count.throttled

    async def flush(self, database: Database, *, everything: bool = False) -> int:
        """Write the counts of the minutes that have ended (of all, at shutdown) to the audit
        trail in one transaction; how many events. Counts that could not be written are kept."""
        taken = self._take_due(everything=everything)
        if not taken:
            return 0
        try:
            async with database.transaction() as session:
                for address, minute, count in taken:
                    with request_facts(RequestFacts(client_address=address)):
                        await record(session, _event(address, minute, count))
        except BaseException:
            self._restore(taken)
            raise
        return len(taken)


REASON = "{requests} requests without valid credentials in the minute from {minute} ({throttled} throttled)"


def _event(address: str, minute: datetime, count: _Count) -> AuditRecord:
    reason = REASON.format(requests=count.requests, minute=f"{minute:%Y-%m-%dT%H:%MZ}", throttled=count.throttled)
    return AuditRecord(
        actor=ANONYMOUS,
        action="authenticate",
        decision="deny",
        reason=reason,
        resource_type="client_address",
        resource_id=address,
    )
