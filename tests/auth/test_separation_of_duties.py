"""`auditor` and `admin` are held alone (DESIGN §2): no user or client is given one of them with
another role, and a principal whose stored roles mix them anyway is refused."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlmodel import col

from service.organisations import repository
from service.organisations.models import Client, User
from tests.core.helpers import assert_problem, pointers

PASSWORD = "correct horse battery staple"
TOKEN = "/api/v1/auth/token"


async def _create_user(client, admin, world, username: str, roles: list[str], org: str = "school-koprinka"):
    return await client.post(
        "/api/v1/users",
        json={"username": username, "password": PASSWORD, "organisation_id": str(await world.organisation_id(org)),
              "roles": roles},
        headers=admin,
    )


async def _user_id(database, username: str) -> str:
    async with database.transaction() as session:
        user = await repository.user_by_username(session, username)
    assert user is not None
    return str(user.id)


async def test_a_user_cannot_be_created_as_auditor_and_school_staff(client, admin, world, database):
    mixed = await _create_user(client, admin, world, "koprinka.dpo", ["auditor", "school_staff"])
    assert pointers(assert_problem(mixed, 422)) == ["#/roles"]
    async with database.transaction() as session:
        assert await repository.user_by_username(session, "koprinka.dpo") is None

    alone = await _create_user(client, admin, world, "koprinka.dpo", ["auditor"])
    assert alone.status_code == 201, alone.text
    two_data_roles = await _create_user(client, admin, world, "koprinka.head", ["school_admin", "school_staff"])
    assert two_data_roles.status_code == 201, two_data_roles.text


async def test_an_auditor_cannot_be_given_a_data_role_later(client, admin, world, database):
    auditor_id = await _user_id(database, "rue-lovech.auditor")
    mixed = await client.patch(
        f"/api/v1/users/{auditor_id}", json={"roles": ["auditor", "municipal_coordinator"]}, headers=admin
    )
    assert pointers(assert_problem(mixed, 422)) == ["#/roles"]
    me = await client.get("/api/v1/me", headers=await world.headers("rue-lovech.auditor"))
    assert me.json()["roles"] == ["auditor"]

    teacher_id = await _user_id(database, "school-koprinka.staff")
    mixed = await client.patch(
        f"/api/v1/users/{teacher_id}", json={"roles": ["school_staff", "auditor"]}, headers=admin
    )
    assert pointers(assert_problem(mixed, 422)) == ["#/roles"]

    replaced = await client.patch(
        f"/api/v1/users/{auditor_id}", json={"roles": ["municipal_coordinator"]}, headers=admin
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["roles"] == ["municipal_coordinator"]


async def test_a_client_cannot_be_created_as_auditor_with_a_data_role(client, admin, world):
    body = {"name": "Е-дневник", "organisation_id": str(await world.organisation_id("school-koprinka"))}
    mixed = await client.post("/api/v1/clients", json={**body, "roles": ["school_staff", "auditor"]}, headers=admin)
    assert pointers(assert_problem(mixed, 422)) == ["#/roles"]
    assert "client_secret" not in mixed.text
    alone = await client.post("/api/v1/clients", json={**body, "roles": ["school_staff"]}, headers=admin)
    assert alone.status_code == 201, alone.text


async def test_a_user_whose_stored_roles_mix_auditor_and_data_roles_is_refused(client, world, database):
    before = await world.headers("school-koprinka.staff")
    assert (await client.get("/api/v1/me", headers=before)).status_code == 200
    logged_in = await client.post(
        TOKEN, data={"grant_type": "password", "username": "school-koprinka.staff", "password": "obhvat-demo-password"}
    )
    assert logged_in.status_code == 200, logged_in.text

    # a row written before the rule, or by hand
    async with database.transaction() as session:
        await session.execute(
            update(User).where(col(User.username) == "school-koprinka.staff").values(roles=["auditor", "school_staff"])
        )
    assert_problem(await client.get("/api/v1/me", headers=before), 401)
    old_token = {"Authorization": f"Bearer {logged_in.json()['access_token']}"}
    assert_problem(await client.get("/api/v1/audit/events", headers=old_token), 401)
    assert_problem(await client.get("/api/v1/me", headers=await world.headers("school-koprinka.staff")), 401)
    again = await client.post(
        TOKEN, data={"grant_type": "password", "username": "school-koprinka.staff", "password": "obhvat-demo-password"}
    )
    assert again.status_code == 401, again.text


async def test_a_client_whose_stored_roles_mix_auditor_and_data_roles_is_refused(client, admin, world, database):
    created = await client.post(
        "/api/v1/clients",
        json={"name": "Е-дневник", "organisation_id": str(await world.organisation_id("school-koprinka")),
              "roles": ["school_staff"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    credentials = {"grant_type": "client_credentials", "client_id": created.json()["client_id"],
                   "client_secret": created.json()["client_secret"]}
    token = await client.post(TOKEN, data=credentials)
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200

    async with database.transaction() as session:
        await session.execute(
            update(Client)
            .where(col(Client.id) == uuid.UUID(created.json()["id"]))
            .values(roles=["auditor", "school_staff"])
        )
    assert_problem(await client.get("/api/v1/me", headers=bearer), 401)
    assert (await client.post(TOKEN, data=credentials)).status_code == 401
