"""A bearer token that cannot be trusted is refused before routing (service/auth/gate.py): the
same 401 or 429 as the principal dependency would answer, without reaching any route or the
database; a throttled answer is held back, so a flood that asks again at once waits."""

from __future__ import annotations

import time

from service.auth.gate import TOKEN_PATH
from tests.conftest import DEMO_PASSWORD

GARBAGE = {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.garbage.signature"}


def test_every_api_operation_but_the_token_endpoint_needs_a_bearer_token(app):
    """The gate refuses untrusted tokens on every API path but the token endpoint: it may,
    because every other operation requires a token."""
    open_operations = [
        (method, path)
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if "security" not in operation
    ]
    assert open_operations == [("post", TOKEN_PATH)]


async def test_an_untrusted_token_is_refused_before_routing(client, world):
    refused = await client.get("/api/v1/no-such-thing", headers=GARBAGE)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["instance"] == "/api/v1/no-such-thing"
    assert refused.headers["x-request-id"]
    headers = await world.headers("school-koprinka.staff")
    assert (await client.get("/api/v1/no-such-thing", headers=headers)).status_code == 404


async def test_the_token_endpoint_is_not_gated(client, world):
    answer = await client.post(
        TOKEN_PATH,
        headers=GARBAGE,
        data={"grant_type": "password", "username": "cp-kazanlak.cp", "password": DEMO_PASSWORD},
    )
    assert answer.status_code == 200, answer.text


async def test_a_throttled_refusal_is_held_back_and_a_plain_one_is_not(app, client):
    anonymous = app.state.anonymous_requests
    anonymous.hold_seconds = 0.4
    started = time.monotonic()
    for _ in range(app.state.settings.anonymous_burst):
        assert (await client.get("/api/v1/me", headers=GARBAGE)).status_code == 401
    assert time.monotonic() - started < 0.4 * 3
    started = time.monotonic()
    throttled = await client.get("/api/v1/me", headers=GARBAGE)
    assert throttled.status_code == 429
    assert time.monotonic() - started >= 0.4
    assert int(throttled.headers["Retry-After"]) >= 1
