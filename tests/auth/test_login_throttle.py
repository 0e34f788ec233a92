"""Repeated failed logins from one address are slowed, then refused for a while (429 with
Retry-After), audited, and lock out neither other users nor the same user elsewhere: a name alone
is only ever slowed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import select

from service.audit.models import AuditEvent
from service.auth import throttle
from tests.conftest import DEMO_PASSWORD

TOKEN = "/api/v1/auth/token"


@pytest.fixture(autouse=True)
def no_real_delays(monkeypatch):
    """Record the delays instead of sleeping them, so the test runs in a moment."""
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("service.app.asyncio.sleep", fake_sleep)
    return slept


def _login(username: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password}


@asynccontextmanager
async def _from(app, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client at another address than the test client's."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 41000))
    async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as other:
        yield other


async def test_failed_logins_are_slowed_then_refused_with_retry_after(app, client, world, no_real_delays):
    for _ in range(throttle.PAIR_LIMIT):
        response = await client.post(TOKEN, data=_login("school-koprinka.staff", "wrong-password-123"))
        assert response.status_code == 401
    assert no_real_delays and no_real_delays == sorted(no_real_delays)  # slower and slower
    refused = await client.post(TOKEN, data=_login("school-koprinka.staff", DEMO_PASSWORD))
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 0 < int(refused.headers["Retry-After"]) <= throttle.BLOCK.total_seconds()
    await app.state.anonymous_requests.flush(world.database, everything=True)
    async with world.database.transaction() as session:
        reasons = (await session.execute(select(AuditEvent.reason))).scalars().all()
    assert reasons.count("wrong username or password") == throttle.PAIR_LIMIT
    # the refusal is counted with the address's requests without valid credentials
    assert any(r.startswith("1 requests without valid credentials") and "(1 throttled)" in r for r in reasons)


async def test_spellings_of_a_username_count_as_the_same_user(client, world):
    spellings = ["school-koprinka.staff", "  School-Koprinka.Staff", "SCHOOL-KOPRINKA.STAFF  "]
    for n in range(throttle.PAIR_LIMIT):
        assert (await client.post(TOKEN, data=_login(spellings[n % 3], "wrong-password-123"))).status_code == 401
    for spelling in spellings:
        assert (await client.post(TOKEN, data=_login(spelling, DEMO_PASSWORD))).status_code == 429


async def test_an_attacker_cannot_lock_the_real_user_out_from_another_address(app, client, world, no_real_delays):
    for _ in range(throttle.PAIR_LIMIT + 5):
        await client.post(TOKEN, data=_login("  School-Koprinka.Staff", "wrong-password-123"))
    assert (await client.post(TOKEN, data=_login("school-koprinka.staff", "wrong-password-123"))).status_code == 429
    no_real_delays.clear()
    async with _from(app, "198.51.100.20") as real_user:
        answer = await real_user.post(TOKEN, data=_login("school-koprinka.staff", DEMO_PASSWORD))
    assert answer.status_code == 200, answer.text
    assert no_real_delays == []  # not even slowed


async def test_a_name_failing_from_many_addresses_is_slowed_but_never_refused(app, client, world, no_real_delays):
    per_address = throttle.SLOW_AFTER - 1  # below the pair's own slowing
    addresses = [f"198.51.100.{n}" for n in range(throttle.NAME_SLOW_AFTER // per_address + 1)]
    for address in addresses:
        async with _from(app, address) as attacker:
            for _ in range(per_address):
                answer = await attacker.post(TOKEN, data=_login("school-koprinka.staff", "wrong-password-123"))
                assert answer.status_code == 401
    assert no_real_delays  # the name alone is answered slower and slower
    async with _from(app, "192.0.2.44") as attacker:
        late = await attacker.post(TOKEN, data=_login("school-koprinka.staff", "wrong-password-123"))
    assert late.status_code == 401  # slowed, not refused
    async with _from(app, "192.0.2.45") as real_user:
        assert (await real_user.post(TOKEN, data=_login("school-koprinka.staff", DEMO_PASSWORD))).status_code == 200


async def test_another_user_at_the_same_address_can_still_log_in(client, world):
    for _ in range(throttle.PAIR_LIMIT):
        await client.post(TOKEN, data=_login("school-koprinka.staff", "wrong-password-123"))
    other = await client.post(TOKEN, data=_login("school-koprinka.admin", DEMO_PASSWORD))
    assert other.status_code == 200, other.text


async def test_unknown_usernames_are_throttled_like_known_ones(client, world):
    for _ in range(throttle.PAIR_LIMIT):
        await client.post(TOKEN, data=_login("nobody.here", "wrong-password-123"))
    assert (await client.post(TOKEN, data=_login("nobody.here", "anything-at-all"))).status_code == 429


async def test_a_successful_login_clears_the_count_of_its_address(client, world):
    for _ in range(throttle.PAIR_LIMIT - 1):
        await client.post(TOKEN, data=_login("cp-kazanlak.cp", "wrong-password-123"))
    assert (await client.post(TOKEN, data=_login("cp-kazanlak.cp", DEMO_PASSWORD))).status_code == 200
    assert (await client.post(TOKEN, data=_login("cp-kazanlak.cp", "wrong-password-123"))).status_code == 401
    assert (await client.post(TOKEN, data=_login("cp-kazanlak.cp", DEMO_PASSWORD))).status_code == 200


async def test_an_address_hammering_many_users_is_refused(client, world):
    for n in range(throttle.ADDRESS_LIMIT):
        await client.post(TOKEN, data=_login(f"guess.{n}", "wrong-password-123"))
    response = await client.post(TOKEN, data=_login("school-koprinka.admin", DEMO_PASSWORD))
    assert response.status_code == 429


async def _api_client(client, world, name: str) -> tuple[str, str]:
    """A system account of Koprinka school (an e-diary, say): its id and secret."""
    admin = await world.headers("platform.admin")
    school = str(await world.organisation_id("school-koprinka"))
    body = {"name": name, "organisation_id": school, "roles": ["school_staff"]}
    created = await client.post("/api/v1/clients", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return created.json()["client_id"], created.json()["client_secret"]


def _client_login(client_id: str, secret: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}


async def test_guessing_an_api_clients_secret_is_refused_and_other_clients_carry_on(client, world):
    guessed_id, guessed_secret = await _api_client(client, world, "Копринка e-diary")
    other_id, other_secret = await _api_client(client, world, "Копринка timetable")
    for _ in range(throttle.PAIR_LIMIT):
        assert (await client.post(TOKEN, data=_client_login(guessed_id, "not-the-secret"))).status_code == 401

    refused = await client.post(TOKEN, data=_client_login(guessed_id, guessed_secret))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert (await client.post(TOKEN, data=_client_login(other_id, other_secret))).status_code == 200


async def test_an_api_clients_successful_login_clears_its_count(client, world):
    client_id, secret = await _api_client(client, world, "Копринка e-diary")
    for _ in range(throttle.PAIR_LIMIT - 1):
        await client.post(TOKEN, data=_client_login(client_id, "not-the-secret"))
    assert (await client.post(TOKEN, data=_client_login(client_id, secret))).status_code == 200
    assert (await client.post(TOKEN, data=_client_login(client_id, "not-the-secret"))).status_code == 401
    assert (await client.post(TOKEN, data=_client_login(client_id, secret))).status_code == 200
