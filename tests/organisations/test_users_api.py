"""Administration of users over HTTP: create, list, change roles and passwords, disable."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from service.organisations.models import User
from tests.organisations.helpers import assert_nothing_leaked, audit_events_after, audit_head_seq

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a-new-password-2026"


async def _login(client, username: str, password: str):
    return await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )


async def _create_user(client, admin, **body):
    return await client.post("/api/v1/users", json={"password": PASSWORD, **body}, headers=admin)


async def test_admin_creates_a_user_who_can_then_log_in(client, admin, world, database):
    school = await world.organisation_id("school-koprinka")
    before = await audit_head_seq(database)

    created = await _create_user(
        client,
        admin,
        username="koprinka.teacher2",
        organisation_id=str(school),
        roles=["school_staff"],
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "username", "organisation_id", "roles", "disabled", "created_at"}
    assert body["username"] == "koprinka.teacher2"
    assert body["organisation_id"] == str(school)
    assert body["roles"] == ["school_staff"]
    assert body["disabled"] is False
    assert "password" not in created.text and PASSWORD not in created.text

    events = await audit_events_after(database, before)
    assert [(e.action, e.resource_type, e.resource_id, e.decision) for e in events] == [
        ("user.create", "user", body["id"], "allow")
    ]
    assert_nothing_leaked(events[0], PASSWORD, "koprinka.teacher2")

    async with database.transaction() as session:
        stored = (
            await session.execute(select(User).where(User.username == "koprinka.teacher2"))
        ).scalar_one()
    assert PASSWORD not in stored.password_hash and stored.password_hash.startswith("$argon2")

    login = await _login(client, "koprinka.teacher2", PASSWORD)
    assert login.status_code == 200, login.text
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json()["username"] == "koprinka.teacher2"
    assert me.json()["organisation"]["code"] == "school-koprinka"


async def test_admin_user_has_no_organisation(client, admin):
    created = await _create_user(client, admin, username="second.admin", roles=["admin"])
    assert created.status_code == 201, created.text
    assert created.json()["organisation_id"] is None


async def test_an_auditor_may_sit_in_any_kind_of_organisation(client, admin, world):
    for code in ("police-kazanlak", "school-koprinka", "mun-lukovit"):
        created = await _create_user(
            client,
            admin,
            username=f"{code}.dpo",
            organisation_id=str(await world.organisation_id(code)),
            roles=["auditor"],
        )
        assert created.status_code == 201, (code, created.text)


async def test_users_are_listed_in_keyset_pages_without_repeats_or_misses(client, admin, database):
    async with database.transaction() as session:
        expected = sorted((await session.execute(select(User.username))).scalars())
    assert len(expected) > 20

    seen: list[str] = []
    url: str | None = "/api/v1/users?limit=7"
    while url is not None:
        page = await client.get(url, headers=admin)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 7
        for item in body["items"]:
            assert "password" not in item and "password_hash" not in item
        seen.extend(item["username"] for item in body["items"])
        link = page.headers.get("Link")
        assert (link is None) == (body["next"] is None)
        url = link.split(";")[0].strip("<>") if link else None
        assert len(seen) <= len(expected)
    assert seen == expected


async def test_role_not_valid_in_the_organisations_kind_is_a_422_at_that_role(
    client, admin, world, database
):
    school = await world.organisation_id("school-koprinka")
    before = await audit_head_seq(database)

    response = await _create_user(
        client,
        admin,
        username="koprinka.cop",
        organisation_id=str(school),
        roles=["police_officer"],
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/roles/0"]
    assert "police_officer" in response.json()["detail"]
    assert await audit_events_after(database, before) == []
    login = await _login(client, "koprinka.cop", PASSWORD)
    assert login.status_code == 401


async def test_only_the_invalid_roles_are_pointed_at(client, admin, world):
    school = await world.organisation_id("school-koprinka")
    response = await _create_user(
        client,
        admin,
        username="koprinka.mixed",
        organisation_id=str(school),
        roles=["school_staff", "cp_officer", "auditor", "police_officer"],
    )
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/roles/1", "#/roles/3"]


async def test_admin_with_an_organisation_is_a_422(client, admin, world):
    response = await _create_user(
        client,
        admin,
        username="school.admin.wrong",
        organisation_id=str(await world.organisation_id("school-koprinka")),
        roles=["admin"],
    )
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/roles/0"]


async def test_non_admin_role_without_an_organisation_is_a_422(client, admin):
    response = await _create_user(client, admin, username="homeless.cp", roles=["cp_officer"])
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/roles/0"]


async def test_unknown_organisation_is_a_422_pointing_at_organisation_id(client, admin):
    response = await _create_user(
        client,
        admin,
        username="nowhere.staff",
        organisation_id=str(uuid.uuid4()),
        roles=["school_staff"],
    )
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/organisation_id"]


async def test_duplicate_username_is_a_422_pointing_at_username(client, admin, world, database):
    before = await audit_head_seq(database)
    response = await _create_user(
        client,
        admin,
        username="cp-kazanlak.cp",
        organisation_id=str(await world.organisation_id("cp-kazanlak")),
        roles=["cp_officer"],
    )
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/username"]
    assert await audit_events_after(database, before) == []
    # the existing account still has its own password
    assert (await _login(client, "cp-kazanlak.cp", PASSWORD)).status_code == 401


@pytest.mark.parametrize(
    "change, pointer",
    [
        ({"password": "short"}, "#/password"),
        ({"username": "Has Spaces"}, "#/username"),
        ({"roles": []}, "#/roles"),
        ({"roles": ["superuser"]}, "#/roles/0"),
        ({"is_root": True}, "#/is_root"),
    ],
)
async def test_invalid_user_fields_are_422_with_pointers(client, admin, world, change, pointer):
    body = {
        "username": "valid.name",
        "password": PASSWORD,
        "organisation_id": str(await world.organisation_id("cp-kazanlak")),
        "roles": ["cp_officer"],
        **change,
    }
    response = await client.post("/api/v1/users", json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert PASSWORD not in response.text


async def _user_id(client, admin, username: str) -> str:
    page = await client.get("/api/v1/users", params={"limit": 200}, headers=admin)
    return next(u["id"] for u in page.json()["items"] if u["username"] == username)


async def test_disabling_a_user_refuses_their_existing_token_at_once(
    client, admin, world, database
):
    cp = await world.headers("cp-kazanlak.cp")
    assert (await client.get("/api/v1/me", headers=cp)).status_code == 200
    user_id = await _user_id(client, admin, "cp-kazanlak.cp")
    before = await audit_head_seq(database)

    disabled = await client.patch(
        f"/api/v1/users/{user_id}", json={"disabled": True}, headers=admin
    )

    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True
    refused = await client.get("/api/v1/me", headers=cp)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/v1/inbox", headers=cp)).status_code == 401
    events = await audit_events_after(database, before)
    assert [(e.action, e.resource_id) for e in events][0] == ("user.update", user_id)
    assert len([e for e in events if e.action == "user.update"]) == 1
    for event in events:
        assert_nothing_leaked(event, "cp-kazanlak.cp")

    # a disabled user cannot log in either
    assert (await _login(client, "cp-kazanlak.cp", "obhvat-demo-password")).status_code == 401

    # re-enabling lets them log in again, but the token issued before stays revoked
    enabled = await client.patch(
        f"/api/v1/users/{user_id}", json={"disabled": False}, headers=admin
    )
    assert enabled.json()["disabled"] is False
    assert (await client.get("/api/v1/me", headers=cp)).status_code == 401
    login = await _login(client, "cp-kazanlak.cp", "obhvat-demo-password")
    assert login.status_code == 200, login.text


async def test_a_new_password_revokes_tokens_and_replaces_the_old_password(client, admin, world):
    teacher = await world.headers("school-koprinka.staff")
    user_id = await _user_id(client, admin, "school-koprinka.staff")

    changed = await client.patch(
        f"/api/v1/users/{user_id}", json={"password": NEW_PASSWORD}, headers=admin
    )

    assert changed.status_code == 200, changed.text
    assert NEW_PASSWORD not in changed.text
    assert (await client.get("/api/v1/me", headers=teacher)).status_code == 401
    assert (
        await _login(client, "school-koprinka.staff", "obhvat-demo-password")
    ).status_code == 401
    assert (await _login(client, "school-koprinka.staff", NEW_PASSWORD)).status_code == 200


async def test_admin_changes_roles_within_the_organisations_kind(client, admin, world, database):
    user_id = await _user_id(client, admin, "school-koprinka.staff")
    before = await audit_head_seq(database)

    promoted = await client.patch(
        f"/api/v1/users/{user_id}", json={"roles": ["school_admin", "school_staff"]}, headers=admin
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["roles"] == ["school_admin", "school_staff"]

    wrong = await client.patch(
        f"/api/v1/users/{user_id}", json={"roles": ["cp_officer"]}, headers=admin
    )
    assert wrong.status_code == 422
    assert [e["pointer"] for e in wrong.json()["errors"]] == ["#/roles/0"]

    page = await client.get("/api/v1/users", params={"limit": 200}, headers=admin)
    listed = next(u for u in page.json()["items"] if u["id"] == user_id)
    assert listed["roles"] == ["school_admin", "school_staff"]
    assert [e.action for e in await audit_events_after(database, before)] == ["user.update"]


async def test_unknown_user_is_404_on_patch(client, admin):
    response = await client.patch(
        f"/api/v1/users/{uuid.uuid4()}", json={"disabled": True}, headers=admin
    )
    assert response.status_code == 404
