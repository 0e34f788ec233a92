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
