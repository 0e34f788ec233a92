"""Logs: one structured JSON line per request with its id, route template, status, duration,
principal and organisation — and never a password, token, PIN or child's name."""

from __future__ import annotations

import base64
import json

import httpx

from tests.conftest import DEMO_PASSWORD
from tests.core.helpers import LogCapture
from tests.secrets import TEST_PASSWORDS, forbidden_in_logs

NEW_PASSWORD = "correct horse battery staple"
CHANGED_PASSWORD = "a-new-password-2026"
assert NEW_PASSWORD in TEST_PASSWORDS and CHANGED_PASSWORD in TEST_PASSWORDS

#: demo children (see service/demo/demo.json): one at school-koprinka, one at school-lukovit-1
KOPRINKA_PIN = "1152035081"
LUKOVIT_PIN = "1741096847"


async def test_every_line_is_json_with_time_level_and_event(client: httpx.AsyncClient) -> None:
    logs = LogCapture()
    await client.get("/healthz")
    await client.get("/api/v1/organisations")
    lines = logs.text.splitlines()
    assert lines
    for raw in lines:
        line = json.loads(raw)
        assert {"timestamp", "level", "event"} <= set(line), line


async def test_one_request_line_with_route_template_status_and_duration(
    client: httpx.AsyncClient, world, admin
) -> None:
    me = (await client.get("/api/v1/me", headers=admin)).json()
    organisation_id = await world.organisation_id("mun-lukovit")
    logs = LogCapture()
    response = await client.get(
        f"/api/v1/organisations/{organisation_id}", headers={**admin, "X-Request-ID": "log-1"}
    )
    assert response.status_code == 200
    [line] = logs.requests("log-1")
    assert line["route"] == "/api/v1/organisations/{organisation_id}"
    assert str(organisation_id) not in line["route"]
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    assert line["principal_id"] == me["id"]
    assert line["organisation_id"] is None  # the platform admin belongs to no organisation
    assert line["level"] == "info"


async def test_request_line_names_the_callers_organisation(
    client: httpx.AsyncClient, world
) -> None:
    staff = await world.headers("school-koprinka.staff", **{"X-Request-ID": "log-2"})
    school_id = await world.organisation_id("school-koprinka")
    logs = LogCapture()
    me = await client.get("/api/v1/me", headers=staff)
    assert me.status_code == 200
    [line] = logs.requests("log-2")
    assert line["route"] == "/api/v1/me"
    assert line["principal_id"] == me.json()["id"]
    assert line["organisation_id"] == str(school_id)


async def test_failed_requests_are_logged_with_their_status(
    client: httpx.AsyncClient, world, admin
) -> None:
    staff = await world.headers("school-koprinka.staff")
    logs = LogCapture()
    await client.get("/api/v1/organisations", headers={"X-Request-ID": "log-401"})
    await client.post(
        "/api/v1/organisations", json={}, headers={**staff, "X-Request-ID": "log-403"}
    )
    await client.get("/no/such/page", headers={"X-Request-ID": "log-404"})
    await client.post(
        "/api/v1/organisations", json={"kind": "bank"}, headers={**admin, "X-Request-ID": "log-422"}
    )
    [unauthenticated] = logs.requests("log-401")
    assert unauthenticated["status"] == 401 and unauthenticated["principal_id"] is None
    [denied] = logs.requests("log-403")
    assert denied["status"] in (403, 422)  # validation may run before the role check
    [missing] = logs.requests("log-404")
    assert missing["status"] == 404
    [invalid] = logs.requests("log-422")
    assert invalid["status"] == 422 and invalid["route"] == "/api/v1/organisations"


async def test_a_crash_is_logged_with_its_request_id(app, client: httpx.AsyncClient) -> None:
    async def crash() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/test-crash", crash)
    logs = LogCapture()
    await client.get("/test-crash", headers={"X-Request-ID": "log-500"})
    [line] = logs.requests("log-500")
    assert line["status"] == 500
    errors = [
        entry for entry in logs.lines()
        if entry.get("level") == "error" and entry.get("request_id") == "log-500"
    ]
    assert errors, logs.text


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def test_a_whole_walk_leaves_no_secret_or_personal_data_in_the_logs(
    client: httpx.AsyncClient, world
) -> None:
    logs = LogCapture()
    secrets: list[str] = []

    # the platform admin logs in with the demo password
    admin_login = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "platform.admin", "password": DEMO_PASSWORD},
    )
    assert admin_login.status_code == 200, admin_login.text
    admin_token = admin_login.json()["access_token"]
    admin = {"Authorization": f"Bearer {admin_token}"}
    secrets += [admin_token, admin["Authorization"]]

    # creates a teacher with a password
    school_id = await world.organisation_id("school-koprinka")
    created = await client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "koprinka.teacher", "password": NEW_PASSWORD,
              "organisation_id": str(school_id), "roles": ["school_staff"]},
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    # a failed login (wrong password), then the right one
    wrong = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "koprinka.teacher",
              "password": CHANGED_PASSWORD},
    )
    assert wrong.status_code == 401
    login = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "koprinka.teacher", "password": NEW_PASSWORD},
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    teacher = {"Authorization": f"Bearer {token}"}
    secrets += [token, teacher["Authorization"], token.rsplit(".", 1)[1]]

    # the teacher uses the token: who am I, a child of the own school, a child of another
    assert (await client.get("/api/v1/me", headers=teacher)).status_code == 200
    own = await client.post("/api/v1/children/lookup", headers=teacher, json={"pin": KOPRINKA_PIN})
    assert own.status_code in (200, 403, 404), own.text
    other = await client.post("/api/v1/children/lookup", headers=teacher, json={"pin": LUKOVIT_PIN})
    assert other.status_code in (403, 404), other.text
    # registering a child sends a name and a PIN in the body
    await client.post(
        "/api/v1/children", headers=teacher,
        json={"pin": KOPRINKA_PIN, "given_name": "Калина", "family_name": "Ангелов",
              "sex": "female"},
    )

    # a system client authenticates with HTTP Basic
    made = await client.post(
        "/api/v1/clients", headers=admin,
        json={"name": "e-diary", "organisation_id": str(school_id), "roles": ["school_staff"]},
    )
    assert made.status_code == 201, made.text
    client_id, client_secret = made.json()["client_id"], made.json()["client_secret"]
    basic = _basic(client_id, client_secret)
    secrets += [client_secret, basic]
    granted = await client.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials"},
        headers={"Authorization": basic},
    )
    assert granted.status_code == 200, granted.text
    secrets.append(granted.json()["access_token"])
    refused = await client.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials"},
        headers={"Authorization": _basic(client_id, "wrong-secret-value-xyz")},
    )
    assert refused.status_code == 401
    secrets.append("wrong-secret-value-xyz")

    # the admin changes the teacher's password; the old token stops working
    changed = await client.patch(
        f"/api/v1/users/{user_id}", headers=admin, json={"password": CHANGED_PASSWORD}
    )
    assert changed.status_code == 200, changed.text
    assert (await client.get("/api/v1/me", headers=teacher)).status_code == 401

    text = logs.text
    assert len(logs.requests()) >= 12  # the walk was logged...
    assert user_id in text  # ...by id
    leaks = [value for value in [*forbidden_in_logs(), *secrets] if value in text]
    assert not leaks, f"{len(leaks)} secret or personal values in the log, e.g. {leaks[0][:12]}…"
