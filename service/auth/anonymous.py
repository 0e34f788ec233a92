"""Requests that carry no valid credentials: throttled per client address in memory, and
counted into one audit event per address and minute (DESIGN §4).

Such a request is not a decision about anyone, so it must cost no database work: a token bucket
per address (an IPv6 address counts by its /64) admits a burst, then a steady rate; past it the
answer is a 429 with Retry-After. Past MAX_TRACKED_ADDRESSES buckets the least recently used is
forgotten. Every such request is counted; `flush` writes the counts of minutes that have ended
(all of them at shutdown) as one `authenticate`/`deny` event per address and minute, its count in
the reason, for the MAX_AUDITED_ADDRESSES busiest addresses of the minute, and one event with the
count of the rest and how many addresses sent it, so that many addresses (a host holds many IPv6
/64s) cannot fill the audit chain. Each API process keeps its own buckets and counts."""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from service.access.principal import ANONYMOUS
from service.audit.service import AuditRecord, record
from service.core.clock import utcnow
from service.core.context import RequestFacts, request_facts
from service.core.database import Database
from service.core.problems import TooManyRequests, Unauthenticated

#: past this many tracked addresses, the least recently used address's bucket is forgotten
MAX_TRACKED_ADDRESSES = 100_000
#: per minute, the busiest this many addresses get an audit event each; the rest share one
MAX_AUDITED_ADDRESSES = 100
UNKNOWN_ADDRESS = "unknown"


class CredentialsRefused(Unauthenticated):
    """A 401 for a request without valid credentials: counted per address and minute, not
    audited one by one."""


class AnonymousThrottled(TooManyRequests):
    """`hold_seconds`: how long the answer is held back before it is sent (see `refuse`)."""

    def __init__(self, seconds: int, *, hold_seconds: float = 0.0) -> None:
        super().__init__(
            "too many requests without valid credentials from this address; try again later",
            headers={"Retry-After": str(seconds)},
        )
        self.hold_seconds = hold_seconds


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

    def __init__(
        self,
        *,
        burst: int,
        per_minute: int,
        clock: Callable[[], datetime] = utcnow,
        max_tracked: int | None = None,
        max_audited: int | None = None,
        hold_seconds: float = 0.0,
    ) -> None:
        self.burst = burst
        self.hold_seconds = hold_seconds
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_tracked = MAX_TRACKED_ADDRESSES if max_tracked is None else max_tracked
        self.max_audited = MAX_AUDITED_ADDRESSES if max_audited is None else max_audited
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._counts: dict[tuple[str, datetime], _Count] = {}

    def refuse(self, address: str | None) -> Unauthenticated | TooManyRequests:
        """Count this request; the problem to answer it with (401, or 429 past the limit). A 429
        is to be held back for up to `hold_seconds` (never past its Retry-After): a client that
        asks again at once waits, holding a connection but not the CPU."""
        key = address_key(address)
        now = self.clock()
        count = self._counts.setdefault((key, _minute(now)), _Count())
        count.requests += 1
        wait = self._take(key, now)
        if wait is None:
            return CredentialsRefused()
        count.throttled += 1
        return AnonymousThrottled(wait, hold_seconds=min(float(wait), self.hold_seconds))

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
            while len(self._buckets) >= self.max_tracked:
                self._buckets.popitem(last=False)  # the least recently used
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated_at=now)
        else:
            self._buckets.move_to_end(key)
        elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
        bucket.updated_at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

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
        events = self._events(taken)
        try:
            async with database.transaction() as session:
                for address, event in events:
                    with request_facts(RequestFacts(client_address=address)):
                        await record(session, event)
        except BaseException:
            self._restore(taken)
            raise
        return len(events)

    def _events(self, taken: list[tuple[str, datetime, _Count]]) -> list[tuple[str | None, AuditRecord]]:
        """Per minute, an event for each of the busiest `max_audited` addresses, and one for
        the rest together."""
        by_minute: defaultdict[datetime, list[tuple[str, _Count]]] = defaultdict(list)
        for address, minute, count in taken:
            by_minute[minute].append((address, count))
        events: list[tuple[str | None, AuditRecord]] = []
        for minute in sorted(by_minute):
            counts = sorted(by_minute[minute], key=lambda item: (-item[1].requests, item[0]))
            named, rest = counts[: self.max_audited], counts[self.max_audited :]
            events.extend((address, _event(address, minute, count)) for address, count in sorted(named))
            if rest:
                together = _Count(
                    requests=sum(count.requests for _, count in rest),
                    throttled=sum(count.throttled for _, count in rest),
                )
                events.append((None, _others_event(len(rest), minute, together)))
        return events


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


OTHERS_REASON = (
    "{requests} requests without valid credentials in the minute from {minute} ({throttled} throttled)"
    " from {addresses} other addresses"
)


def _others_event(addresses: int, minute: datetime, count: _Count) -> AuditRecord:
    reason = OTHERS_REASON.format(
        requests=count.requests, minute=f"{minute:%Y-%m-%dT%H:%MZ}", throttled=count.throttled, addresses=addresses
    )
    return AuditRecord(
        actor=ANONYMOUS, action="authenticate", decision="deny", reason=reason, resource_type="client_address"
    )
