"""A flood of requests without valid credentials neither fills the audit chain nor reaches the
database: it is throttled per address in memory (429 with Retry-After) and counted into one
audit event per address and minute."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import event, select

from service.audit.models import AuditEvent
from service.auth.anonymous import (
    MAX_AUDITED_ADDRESSES,
    AnonymousRequests,
    AnonymousThrottled,
    CredentialsRefused,
    address_key,
)

ME = "/api/v1/me"
GARBAGE = {"Authorization": "Bearer not.a.token"}
HOME = "203.0.113.7"  # the address of the test client (tests/conftest.py)
ELSEWHERE = "198.51.100.9"
COUNTED = re.compile(r"^(\d+) requests without valid credentials in the minute from (\S+) \((\d+) throttled\)$")
OTHERS = re.compile(
    r"^(\d+) requests without valid credentials in the minute from (\S+) \((\d+) throttled\)"
    r" from (\d+) other addresses$"
)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 9, 15, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app) -> FakeClock:
    clock = FakeClock()
    app.state.anonymous_requests.clock = clock
    return clock


@pytest.fixture
async def elsewhere(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ELSEWHERE, 41000))
    async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as other:
        yield other


@pytest.fixture
def statements(world) -> Iterator[list[str]]:
    """Every SQL statement sent to the database while the test runs."""
    sent: list[str] = []

    def remember(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    engine = world.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", remember)
    yield sent
    event.remove(engine, "before_cursor_execute", remember)


async def _counted_events(world) -> list[tuple[str | None, int, str, int]]:
    """(address, count, minute, throttled) of each per-minute count in the audit trail."""
    async with world.database.transaction() as session:
        rows = (
            await session.execute(
                select(AuditEvent.client_address, AuditEvent.reason)
                .where(AuditEvent.action == "authenticate", AuditEvent.decision == "deny")
                .order_by(AuditEvent.seq)
            )
        ).all()
    counted = []
    for address, reason in rows:
        matched = COUNTED.match(reason)
        assert matched, f"an anonymous request was audited on its own: {reason}"
        counted.append((address, int(matched[1]), matched[2], int(matched[3])))
    return counted


async def test_garbage_tokens_make_one_audit_event_per_address_and_minute_with_their_count(
    app, client, world, clock
):
    for _ in range(12):
        assert (await client.get(ME, headers=GARBAGE)).status_code == 401
    await client.get(ME)  # no token at all counts the same
    await app.state.anonymous_requests.flush(world.database)
    assert await _counted_events(world) == []  # the minute is not over: nothing written yet

    clock.move(minutes=1)
    for _ in range(4):
        await client.get(ME, headers=GARBAGE)
    assert await app.state.anonymous_requests.flush(world.database) == 1
    assert await _counted_events(world) == [(HOME, 13, "2026-11-30T09:15Z", 0)]

    clock.move(minutes=1)
    await app.state.anonymous_requests.flush(world.database)
    assert await _counted_events(world) == [(HOME, 13, "2026-11-30T09:15Z", 0), (HOME, 4, "2026-11-30T09:16Z", 0)]


async def test_past_the_limit_anonymous_requests_get_429_with_retry_after_and_no_database_work(
    app, client, world, clock, statements
):
    burst = app.state.settings.anonymous_burst
    answers = [(await client.get(ME, headers=GARBAGE)).status_code for _ in range(burst)]
    assert answers == [401] * burst
    refused = await client.get(ME, headers=GARBAGE)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    wait = int(refused.headers["Retry-After"])
    assert wait >= 1
    assert statements == []  # neither the 401s nor the 429 touched the database

    clock.move(seconds=wait)
    assert (await client.get(ME, headers=GARBAGE)).status_code == 401
    clock.move(minutes=1)
    await app.state.anonymous_requests.flush(world.database)
    assert await _counted_events(world) == [(HOME, burst + 2, "2026-11-30T09:15Z", 1)]
    assert statements  # the flush is seen, so the silence above was no blind spot


async def test_a_valid_token_from_a_throttled_address_is_answered(app, client, world, clock):
    headers = await world.headers("school-koprinka.staff")
    for _ in range(app.state.settings.anonymous_burst + 1):
        await client.get(ME, headers=GARBAGE)
    assert (await client.get(ME, headers=GARBAGE)).status_code == 429
    assert (await client.get(ME, headers=headers)).status_code == 200


async def test_addresses_are_throttled_and_counted_independently(app, client, elsewhere, world, clock):
    for _ in range(app.state.settings.anonymous_burst + 3):
        await client.get(ME, headers=GARBAGE)
    assert (await client.get(ME, headers=GARBAGE)).status_code == 429
    assert (await elsewhere.get(ME, headers=GARBAGE)).status_code == 401
    clock.move(minutes=1)
    await app.state.anonymous_requests.flush(world.database)
    counted = {address: (count, throttled) for address, count, _, throttled in await _counted_events(world)}
    assert counted == {HOME: (app.state.settings.anonymous_burst + 4, 4), ELSEWHERE: (1, 0)}


async def test_the_count_of_the_minute_in_progress_is_written_at_shutdown(app, world, clock):
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(HOME, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as client:
            for _ in range(3):
                await client.get(ME, headers=GARBAGE)
    assert await _counted_events(world) == [(HOME, 3, "2026-11-30T09:15Z", 0)]


def test_an_ipv6_client_is_throttled_by_its_64_prefix():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_key(None) == "unknown"


def test_every_operation_that_needs_a_token_documents_the_429(app):
    operations = [op for item in app.openapi()["paths"].values() for op in item.values()]
    needing_a_token = [op for op in operations if "401" in op["responses"]]
    assert needing_a_token
    assert all("429" in op["responses"] for op in needing_a_token)
    assert "429" not in app.openapi()["paths"]["/healthz"]["get"]["responses"]


def test_past_the_cap_the_least_recently_used_bucket_is_forgotten_and_tracking_stays_bounded(monkeypatch):
    monkeypatch.setattr("service.auth.anonymous.MAX_TRACKED_ADDRESSES", 50)
    anonymous = AnonymousRequests(burst=2, per_minute=1, clock=FakeClock())
    for _ in range(3):
        anonymous.refuse(HOME)
    assert isinstance(anonymous.refuse(HOME), AnonymousThrottled)
    for n in range(500):  # a flood from many addresses; HOME keeps calling now and then
        anonymous.refuse(f"10.0.{n // 250}.{n % 250}")
        if n % 20 == 0:
            assert isinstance(anonymous.refuse(HOME), AnonymousThrottled)  # recently used: its empty bucket is kept
        assert len(anonymous._buckets) <= 50
    assert isinstance(anonymous.refuse("10.0.0.0"), CredentialsRefused)  # the least recently used was forgotten


async def test_many_addresses_in_a_minute_make_at_most_the_cap_of_events_plus_one_for_the_rest(
    app, world, clock
):
    anonymous = app.state.anonymous_requests
    addresses = [f"2001:db8:{n:x}::1" for n in range(MAX_AUDITED_ADDRESSES + 37)]  # one /64 each
    for address in addresses:
        anonymous.refuse(address)
    for _ in range(5):
        anonymous.refuse(HOME)  # the busiest address is among those named
    clock.move(minutes=1)
    assert await anonymous.flush(world.database) == MAX_AUDITED_ADDRESSES + 1

    async with world.database.transaction() as session:
        reasons = (
            await session.execute(
                select(AuditEvent.client_address, AuditEvent.reason)
                .where(AuditEvent.action == "authenticate", AuditEvent.decision == "deny")
            )
        ).all()
    assert len(reasons) == MAX_AUDITED_ADDRESSES + 1
    named = {address: int(COUNTED.match(reason)[1]) for address, reason in reasons if COUNTED.match(reason)}
    others = [OTHERS.match(reason) for _, reason in reasons if OTHERS.match(reason)]
    assert len(named) == MAX_AUDITED_ADDRESSES and named[HOME] == 5
    assert len(others) == 1
    assert int(others[0][4]) == len(addresses) + 1 - MAX_AUDITED_ADDRESSES
    assert sum(named.values()) + int(others[0][1]) == len(addresses) + 5
