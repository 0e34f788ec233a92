"""System accounts: created by the admin, the secret shown once, used with client_credentials."""

from __future__ import annotations

import base64
import uuid

from sqlalchemy import select

from service.organisations.models import Client
from tests.organisations.helpers import assert_nothing_leaked, audit_events_after, audit_head_seq


async def _create_client(client, admin, world, **change):
    body = {
        "name": "Копринка e-diary",
        "organisation_id": str(await world.organisation_id("school-koprinka")),
        "roles": ["school_staff"],
        **change,
    }
    return await client.post("/api/v1/clients", json=body, headers=admin)


async def test_created_clients_secret_works_with_the_client_credentials_grant(
    client, admin, world, database
):
    before = await audit_head_seq(database)

    created = await _create_client(client, admin, world)

    assert created.status_code == 201, created.text
    body = created.json()
    uuid.UUID(body["id"])
    assert body["client_id"] == body["id"]
    assert body["roles"] == ["school_staff"]
    secret = body["client_secret"]
    assert len(secret) >= 32

    events = await audit_events_after(database, before)
    assert [(e.action, e.resource_type, e.resource_id) for e in events] == [
        ("client.create", "client", body["id"])
    ]
    assert_nothing_leaked(events[0], secret, "e-diary", "Копринка")

    async with database.transaction() as session:
        stored = (
            await session.execute(select(Client).where(Client.id == uuid.UUID(body["id"])))
        ).scalar_one()
    assert secret not in stored.secret_hash  # only a hash is kept: the secret is shown once

    token = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": body["client_id"],
            "client_secret": secret,
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "bearer"
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.status_code == 200, me.text
    assert me.json()["kind"] == "client"
    assert me.json()["id"] == body["id"]
    assert me.json()["roles"] == ["school_staff"]
    assert me.json()["organisation"]["code"] == "school-koprinka"

    basic = base64.b64encode(f"{body['client_id']}:{secret}".encode()).decode()
    by_basic = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert by_basic.status_code == 200, by_basic.text


async def test_a_wrong_client_secret_is_refused(client, admin, world):
    body = (await _create_client(client, admin, world)).json()
    refused = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": body["client_id"],
            "client_secret": body["client_secret"] + "x",
        },
    )
    assert refused.status_code == 401
    assert body["client_secret"] not in refused.text


async def test_each_client_gets_its_own_secret(client, admin, world):
    first = (await _create_client(client, admin, world)).json()
    second = (await _create_client(client, admin, world)).json()
    assert first["id"] != second["id"]
    assert first["client_secret"] != second["client_secret"]
    crossed = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": first["client_id"],
            "client_secret": second["client_secret"],
        },
    )
    assert crossed.status_code == 401


async def test_client_role_must_fit_the_organisation(client, admin, world, database):
    before = await audit_head_seq(database)
    response = await _create_client(client, admin, world, roles=["school_staff", "police_officer"])
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/roles/1"]
    assert "client_secret" not in response.text
    assert await audit_events_after(database, before) == []


async def test_client_cannot_be_an_admin(client, admin, world):
    response = await _create_client(client, admin, world, roles=["admin"])
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/roles/0"]


async def test_client_for_an_unknown_organisation_is_a_422(client, admin, world):
    response = await _create_client(client, admin, world, organisation_id=str(uuid.uuid4()))
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/organisation_id"]


async def test_client_needs_an_organisation(client, admin, world):
    response = await client.post(
        "/api/v1/clients", json={"name": "orphan", "roles": ["school_staff"]}, headers=admin
    )
    assert response.status_code == 422
    assert "#/organisation_id" in [e["pointer"] for e in response.json()["errors"]]


async def _token(client, client_id: str, secret: str):
    return await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


async def test_a_disabled_clients_token_is_refused_at_once_and_it_cannot_log_in(client, admin, world, database):
    body = (await _create_client(client, admin, world)).json()
    token = (await _token(client, body["client_id"], body["client_secret"])).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
    before = await audit_head_seq(database)

    disabled = await client.patch(f"/api/v1/clients/{body['id']}", json={"disabled": True}, headers=admin)

    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True
    assert disabled.json()["client_secret"] is None
    events = await audit_events_after(database, before)
    assert [(e.action, e.resource_id, e.decision) for e in events] == [("client.disable", body["id"], "allow")]
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    login = await _token(client, body["client_id"], body["client_secret"])
    assert login.status_code == 401 and login.json()["error"] == "invalid_client"

    enabled = await client.patch(f"/api/v1/clients/{body['id']}", json={"disabled": False}, headers=admin)
    assert enabled.json()["disabled"] is False
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401  # revoked for good
    assert (await _token(client, body["client_id"], body["client_secret"])).status_code == 200


async def test_rotating_a_clients_secret_shows_the_new_one_once_and_stops_the_old(client, admin, world, database):
    body = (await _create_client(client, admin, world)).json()
    old_token = (await _token(client, body["client_id"], body["client_secret"])).json()["access_token"]
    before = await audit_head_seq(database)

    rotated = await client.patch(f"/api/v1/clients/{body['id']}", json={"rotate_secret": True}, headers=admin)

    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    assert new_secret and new_secret != body["client_secret"]
    assert rotated.json()["disabled"] is False
    events = await audit_events_after(database, before)
    assert [e.action for e in events] == ["client.rotate_secret"]
    assert_nothing_leaked(events[0], new_secret, body["client_secret"])
    assert (await _token(client, body["client_id"], body["client_secret"])).status_code == 401
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {old_token}"})).status_code == 401
    fresh = await _token(client, body["client_id"], new_secret)
    assert fresh.status_code == 200, fresh.text
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == body["id"]


async def test_only_the_platform_admin_may_disable_or_rotate_a_client(client, admin, world):
    body = (await _create_client(client, admin, world)).json()
    school_admin = await world.headers("school-koprinka.admin")
    for change in ({"disabled": True}, {"rotate_secret": True}):
        refused = await client.patch(f"/api/v1/clients/{body['id']}", json=change, headers=school_admin)
        assert refused.status_code == 403, refused.text
    assert (await _token(client, body["client_id"], body["client_secret"])).status_code == 200


async def test_patching_an_unknown_client_is_a_404_and_an_empty_change_a_422(client, admin, world):
    missing = await client.patch(f"/api/v1/clients/{uuid.uuid4()}", json={"disabled": True}, headers=admin)
    assert missing.status_code == 404
    body = (await _create_client(client, admin, world)).json()
    empty = await client.patch(f"/api/v1/clients/{body['id']}", json={}, headers=admin)
    assert empty.status_code == 422
