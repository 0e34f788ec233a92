"""Only the platform admin administers; every refusal is in the audit trail."""

from __future__ import annotations

import uuid

import pytest

from service.organisations import repository
from tests.organisations.helpers import audit_events_after, audit_head_seq

PASSWORD = "correct horse battery staple"


async def _requests(world) -> list[tuple[str, str, dict | None, str]]:
    """(method, path, body, action) for every admin endpoint, with bodies that are valid."""
    school = await world.organisation_id("school-koprinka")
    async with world.database.transaction() as session:
        user = await repository.user_by_username(session, "school-koprinka.staff")
    assert user is not None
    return [
        (
            "POST",
            "/api/v1/organisations",
            {"code": "school-x", "kind": "school", "name": "X", "municipality_codes": ["SZR12"]},
            "organisations.manage",
        ),
        ("GET", "/api/v1/organisations", None, "organisations.manage"),
        ("GET", f"/api/v1/organisations/{school}", None, "organisations.manage"),
        ("PATCH", f"/api/v1/organisations/{school}", {"name": "renamed"}, "organisations.manage"),
        (
            "POST",
            "/api/v1/users",
            {
                "username": "intruder.made",
                "password": PASSWORD,
                "organisation_id": str(school),
                "roles": ["school_staff"],
            },
            "users.manage",
        ),
        ("GET", "/api/v1/users", None, "users.manage"),
        ("PATCH", f"/api/v1/users/{user.id}", {"disabled": True}, "users.manage"),
        (
            "POST",
            "/api/v1/clients",
            {"name": "rogue", "organisation_id": str(school), "roles": ["school_staff"]},
            "clients.manage",
        ),
    ]


@pytest.mark.parametrize(
    "username", ["cp-kazanlak.cp", "school-koprinka.admin", "rue-lovech.auditor"]
)
async def test_non_admins_get_403_on_every_admin_endpoint_and_each_denial_is_audited(
    client, world, database, username
):
    headers = await world.headers(username)
    async with database.transaction() as session:
        caller = await repository.user_by_username(session, username)
    assert caller is not None

    for method, path, body, action in await _requests(world):
        before = await audit_head_seq(database)
        response = await client.request(method, path, json=body, headers=headers)

        assert response.status_code == 403, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 403
        events = await audit_events_after(database, before)
        assert [(e.action, e.decision, e.actor_id) for e in events] == [
            (action, "deny", str(caller.id))
        ], (method, path)
        assert events[0].actor_organisation_id == caller.organisation_id
        assert events[0].client_address == "203.0.113.7"

    # and nothing was changed
    admin = await world.headers("platform.admin")
    organisations = await client.get("/api/v1/organisations", params={"limit": 200}, headers=admin)
    assert "school-x" not in [o["code"] for o in organisations.json()["items"]]
    assert "renamed" not in [o["name"] for o in organisations.json()["items"]]
    users = await client.get("/api/v1/users", params={"limit": 200}, headers=admin)
    assert "intruder.made" not in [u["username"] for u in users.json()["items"]]
    staff = next(u for u in users.json()["items"] if u["username"] == "school-koprinka.staff")
    assert staff["disabled"] is False


async def test_a_client_account_cannot_administer(client, world):
    admin = await world.headers("platform.admin")
    created = await client.post(
        "/api/v1/clients",
        json={
            "name": "diary",
            "organisation_id": str(await world.organisation_id("school-koprinka")),
            "roles": ["school_admin"],
        },
        headers=admin,
    )
    token = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": created.json()["client_id"],
            "client_secret": created.json()["client_secret"],
        },
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    for method, path, body, _ in await _requests(world):
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path)


async def test_admin_endpoints_need_a_token(client, world, database):
    for method, path, body, _ in await _requests(world):
        response = await client.request(method, path, json=body)
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "Bearer" in response.headers["WWW-Authenticate"]
        bad = await client.request(
            method, path, json=body, headers={"Authorization": "Bearer nonsense"}
        )
        assert bad.status_code == 401


async def test_unknown_organisation_and_forbidden_look_the_same_to_a_non_admin(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    response = await client.get(f"/api/v1/organisations/{uuid.uuid4()}", headers=cp)
    assert response.status_code == 403  # the function-level check comes before any lookup
