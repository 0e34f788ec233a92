"""Repeated failed logins are slowed, then refused for a while (429 with Retry-After), audited,
and do not lock out other users."""

from __future__ import annotations

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


async def test_failed_logins_are_slowed_then_refused_with_retry_after(client, world, no_real_delays):
    for _ in range(throttle.USER_LIMIT):
        response = await client.post(TOKEN, data=_login("school-koprinka.staff", "wrong-password-123"))
        assert response.status_code == 401
    assert no_real_delays and no_real_delays == sorted(no_real_delays)  # slower and slower
    refused = await client.post(TOKEN, data=_login("school-koprinka.staff", DEMO_PASSWORD))
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 0 < int(refused.headers["Retry-After"]) <= throttle.BLOCK.total_seconds()
    async with world.database.transaction() as session:
        reasons = (await session.execute(select(AuditEvent.reason).where(AuditEvent.action == "login"))).scalars().all()
    assert reasons.count("wrong username or password") == throttle.USER_LIMIT
    assert "too many failed logins (throttled)" in reasons


async def test_another_user_at_the_same_address_can_still_log_in(client, world):
    for _ in range(throttle.USER_LIMIT):
        await client.post(TOKEN, data=_login("school-koprinka.staff", "wrong-password-123"))
    other = await client.post(TOKEN, data=_login("school-koprinka.admin", DEMO_PASSWORD))
    assert other.status_code == 200, other.text


async def test_unknown_usernames_are_throttled_like_known_ones(client, world):
    for _ in range(throttle.USER_LIMIT):
        await client.post(TOKEN, data=_login("nobody.here", "wrong-password-123"))
    assert (await client.post(TOKEN, data=_login("nobody.here", "anything-at-all"))).status_code == 429


async def test_a_successful_login_clears_the_users_count(client, world):
    for _ in range(throttle.USER_LIMIT - 1):
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
    for _ in range(throttle.USER_LIMIT):
        assert (await client.post(TOKEN, data=_client_login(guessed_id, "not-the-secret"))).status_code == 401

    refused = await client.post(TOKEN, data=_client_login(guessed_id, guessed_secret))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert (await client.post(TOKEN, data=_client_login(other_id, other_secret))).status_code == 200


async def test_an_api_clients_successful_login_clears_its_count(client, world):
    client_id, secret = await _api_client(client, world, "Копринка e-diary")
    for _ in range(throttle.USER_LIMIT - 1):
        await client.post(TOKEN, data=_client_login(client_id, "not-the-secret"))
    assert (await client.post(TOKEN, data=_client_login(client_id, secret))).status_code == 200
    assert (await client.post(TOKEN, data=_client_login(client_id, "not-the-secret"))).status_code == 401
    assert (await client.post(TOKEN, data=_client_login(client_id, secret))).status_code == 200
