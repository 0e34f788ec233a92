"""What the console's refusals leave behind: a sign-in form posted without a token by someone
without credentials is throttled and counted per address and minute, not audited one by one; a
refused form's audit event names the route, never the path as sent; an error message is shown as
plain, escaped text, whatever it contains."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from service.audit.models import AuditEvent
from service.auth import throttle
from service.web.forms import FormErrors
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS
from tests.conftest import World
from tests.web.helpers import csrf_of, sign_in

HOME = "203.0.113.7"  # the address of the test client (tests/conftest.py)
CYRILLIC = "Плати-на-сметка-BG00"


@pytest.fixture
def no_real_delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Failed sign-ins are answered late: record the delays instead of sleeping them."""
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("service.app.asyncio.sleep", fake_sleep)
    return slept


async def _audit_rows(world: World) -> int:
    async with world.database.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one())


async def test_sign_in_forms_without_a_token_are_throttled_and_not_audited_one_by_one(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    burst = app.state.settings.anonymous_burst
    app.state.anonymous_requests.hold_seconds = 0.0  # a held 429 lets the bucket refill meanwhile
    before = await _audit_rows(world)
    answers = [
        (await client.post("/login", data={"username": "cp-kazanlak.cp", "password": "x"})).status_code
        for _ in range(burst + 3)
    ]
    assert answers[:burst] == [403] * burst
    assert answers[burst:] == [429] * 3, "the refusals were not throttled past the burst"
    assert await _audit_rows(world) == before, "an anonymous request wrote an audit event of its own"
    assert await app.state.anonymous_requests.flush(world.database, everything=True) == 1
    async with world.database.transaction() as session:
        reasons = (
            await session.execute(
                select(AuditEvent.reason).where(AuditEvent.action == "authenticate", AuditEvent.client_address == HOME)
            )
        ).scalars().all()
    assert reasons and reasons[0].startswith(f"{burst + 3} requests without valid credentials")
    assert reasons[0].endswith("(3 throttled)")


async def test_a_throttled_console_sign_in_is_counted_with_the_address(
    app: Any, client: httpx.AsyncClient, world: World, no_real_delays: list[float]
) -> None:
    for _ in range(throttle.PAIR_LIMIT):
        form = await client.get("/login")
        wrong = await client.post(
            "/login", data={"username": "cp-kazanlak.cp", "password": "wrong-password", "csrf_token": csrf_of(form)}
        )
        assert wrong.status_code == 401
    form = await client.get("/login")
    refused = await client.post(
        "/login", data={"username": "cp-kazanlak.cp", "password": "wrong-password", "csrf_token": csrf_of(form)}
    )
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    await app.state.anonymous_requests.flush(world.database, everything=True)
    async with world.database.transaction() as session:
        reasons = (await session.execute(select(AuditEvent.reason))).scalars().all()
    assert any(r.startswith("1 requests without valid credentials") and "(1 throttled)" in r for r in reasons)


async def test_a_refused_form_audits_the_route_not_the_path_as_sent(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "cp-kazanlak.cp")
    refused = await client.post(f"/alerts/{CYRILLIC}/close", data={"outcome": "returned_to_school"})
    assert refused.status_code == 403
    async with world.database.transaction() as session:
        reasons = (
            await session.execute(select(AuditEvent.reason).where(AuditEvent.action == "console form"))
        ).scalars().all()
    assert reasons == ["CSRF token missing or wrong: /alerts/{alert_id}/close"]
    assert not any(CYRILLIC in reason for reason in reasons)


async def test_an_error_message_with_a_percent_sign_is_shown_not_a_500(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "school-koprinka.staff")
    form = await client.get("/children/search")
    found = await client.post("/children/search", data={"pin": KOPRINKA_PUPIL_PINS[0], "csrf_token": csrf_of(form)})
    child_id = found.headers["location"].rsplit("/", 1)[-1]
    form = await client.get("/alerts/new", params={"child": child_id, "type": "support_needed"})
    answer = await client.post(
        "/alerts/new",
        data={"csrf_token": csrf_of(form), "child": child_id, "type": "support_needed", "severity": "concern",
              "details.recipient_id": "%x"},
    )
    assert answer.status_code == 422, answer.text
    assert 'class="error-summary"' in answer.text
    assert 'id="details-recipient_id-error"' in answer.text


def test_an_error_message_is_escaped(app: Any) -> None:
    errors = FormErrors()
    errors.general.append("<b>x</b> 100%")
    errors.add("note", "<b>x</b>")
    macros = app.state.console.environments["bg"].get_template("_macros.html").module
    shown = str(macros.error_summary(errors)) + str(macros.field_error(errors, "note"))
    assert "<b>" not in shown
    assert shown.count("&lt;b&gt;x&lt;/b&gt;") == 3
    assert "100%" in shown
