"""Administration of organisations over HTTP: create, list in keyset pages, read, patch."""

from __future__ import annotations

import re
import uuid

import pytest

from service.organisations import repository
from tests.organisations.helpers import assert_nothing_leaked, audit_events_after, audit_head_seq

NEW_SCHOOL = {
    "code": "school-test-shipka",
    "kind": "school",
    "name": "ОУ „Тест“, гр. Шипка",
    "municipality_codes": ["SZR12"],
}


async def _admin_id(database) -> str:
    async with database.transaction() as session:
        user = await repository.user_by_username(session, "platform.admin")
    assert user is not None
    return str(user.id)


async def test_admin_creates_an_organisation_and_reads_it_back(client, admin, database):
    before = await audit_head_seq(database)

    created = await client.post("/api/v1/organisations", json=NEW_SCHOOL, headers=admin)

    assert created.status_code == 201, created.text
    body = created.json()
    uuid.UUID(body["id"])
    assert {k: body[k] for k in NEW_SCHOOL} == NEW_SCHOOL
    assert body["created_at"]

    read = await client.get(f"/api/v1/organisations/{body['id']}", headers=admin)
    assert read.status_code == 200, read.text
    assert read.json() == body

    events = await audit_events_after(database, before)
    assert [e.action for e in events] == ["organisation.create"]
    (event,) = events
    assert event.decision == "allow"
    assert event.resource_type == "organisation"
    assert event.resource_id == body["id"]
    assert event.actor_id == await _admin_id(database)
    assert event.actor_roles == ["admin"]
    assert event.client_address == "203.0.113.7"
    assert event.request_id
    assert_nothing_leaked(event, NEW_SCHOOL["name"], "Тест", "Шипка")


async def test_municipality_codes_are_deduplicated_and_sorted(client, admin):
    created = await client.post(
        "/api/v1/organisations",
        json={
            **NEW_SCHOOL,
            "kind": "police",
            "code": "police-multi",
            "municipality_codes": ["VID33", "LOV19", "VID33"],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["municipality_codes"] == ["LOV19", "VID33"]
    read = await client.get(f"/api/v1/organisations/{created.json()['id']}", headers=admin)
    assert read.json()["municipality_codes"] == ["LOV19", "VID33"]


def _next_link(response) -> str | None:
    header = response.headers.get("Link")
    if header is None:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', header)
    assert match, header
    return match.group(1)


async def test_organisations_are_listed_in_keyset_pages_without_repeats_or_misses(
    client, admin, database
):
    async with database.transaction() as session:
        everything = await repository.list_organisations(session, after_code=None, limit=1000)
    expected = [o.code for o in everything]
    assert len(expected) >= 15  # the demo data has more than three pages of four

    seen: list[str] = []
    url: str | None = "/api/v1/organisations?limit=4"
    pages = 0
    while url is not None:
        page = await client.get(url, headers=admin)
        assert page.status_code == 200, page.text
        body = page.json()
        assert set(body) == {"items", "next"}
        assert len(body["items"]) <= 4
        seen.extend(item["code"] for item in body["items"])
        link = _next_link(page)
        if body["next"] is None:
            assert link is None
        else:
            assert len(body["items"]) == 4  # only a full page has a next one
            assert link is not None and f"after={body['next']}" in link and "limit=4" in link
        url = link
        pages += 1
        assert pages < 50

    assert seen == expected  # every organisation once, in code order
    assert len(set(seen)) == len(seen)
    assert pages == -(-len(expected) // 4)


async def test_following_the_next_cursor_gives_the_same_pages_as_the_link_header(client, admin):
    first = await client.get("/api/v1/organisations", params={"limit": 5}, headers=admin)
    assert first.status_code == 200
    by_cursor = await client.get(
        "/api/v1/organisations", params={"limit": 5, "after": first.json()["next"]}, headers=admin
    )
    by_link = await client.get(_next_link(first), headers=admin)
    assert by_cursor.json() == by_link.json()
    assert not {i["id"] for i in first.json()["items"]} & {
        i["id"] for i in by_cursor.json()["items"]
    }


async def test_a_new_organisation_appears_in_the_listing(client, admin):
    await client.post("/api/v1/organisations", json=NEW_SCHOOL, headers=admin)
    page = await client.get("/api/v1/organisations", params={"limit": 200}, headers=admin)
    assert page.json()["next"] is None
    assert NEW_SCHOOL["code"] in [item["code"] for item in page.json()["items"]]


@pytest.mark.parametrize(
    "params, parameter",
    [({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"after": "not-a-cursor!"}, "after")],
)
async def test_bad_paging_parameters_are_a_422_naming_the_parameter(
    client, admin, params, parameter
):
    response = await client.get("/api/v1/organisations", params=params, headers=admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert parameter in [e.get("parameter") for e in response.json()["errors"]]


async def test_admin_patches_an_organisations_name_and_municipalities(
    client, admin, world, database
):
    organisation_id = await world.organisation_id("police-kazanlak")
    before = await audit_head_seq(database)

    patched = await client.patch(
        f"/api/v1/organisations/{organisation_id}",
        json={"name": "РУ на МВР Казанлък и Мъглиж", "municipality_codes": ["SZR12", "SZR20"]},
        headers=admin,
    )

    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "РУ на МВР Казанлък и Мъглиж"
    assert patched.json()["municipality_codes"] == ["SZR12", "SZR20"]
    assert patched.json()["code"] == "police-kazanlak"
    read = await client.get(f"/api/v1/organisations/{organisation_id}", headers=admin)
    assert read.json() == patched.json()

    events = await audit_events_after(database, before)
    assert [(e.action, e.resource_id) for e in events] == [
        ("organisation.update", str(organisation_id))
    ]
    assert_nothing_leaked(events[0], "Мъглиж", "Казанлък")


async def test_patching_only_the_name_keeps_the_municipalities(client, admin, world):
    organisation_id = await world.organisation_id("cp-lukovit")
    patched = await client.patch(
        f"/api/v1/organisations/{organisation_id}", json={"name": "ОЗД Луковит"}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["municipality_codes"] == ["LOV19"]


async def test_code_and_kind_cannot_be_patched(client, admin, world):
    organisation_id = await world.organisation_id("cp-lukovit")
    response = await client.patch(
        f"/api/v1/organisations/{organisation_id}", json={"kind": "police"}, headers=admin
    )
    assert response.status_code == 422
    assert "#/kind" in [e["pointer"] for e in response.json()["errors"]]
    read = await client.get(f"/api/v1/organisations/{organisation_id}", headers=admin)
    assert read.json()["kind"] == "child_protection"


async def test_unknown_organisation_is_404_on_read_and_patch(client, admin, database):
    before = await audit_head_seq(database)
    missing = uuid.uuid4()
    read = await client.get(f"/api/v1/organisations/{missing}", headers=admin)
    patch = await client.patch(
        f"/api/v1/organisations/{missing}", json={"name": "x"}, headers=admin
    )
    assert read.status_code == 404
    assert patch.status_code == 404
    assert read.headers["content-type"].startswith("application/problem+json")
    assert [e.action for e in await audit_events_after(database, before)] == []


async def test_duplicate_code_is_a_422_pointing_at_code_and_changes_nothing(
    client, admin, database
):
    before = await audit_head_seq(database)
    response = await client.post(
        "/api/v1/organisations", json={**NEW_SCHOOL, "code": "school-koprinka"}, headers=admin
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422
    assert [e["pointer"] for e in problem["errors"]] == ["#/code"]
    assert await audit_events_after(database, before) == []
    page = await client.get("/api/v1/organisations", params={"limit": 200}, headers=admin)
    assert [i["code"] for i in page.json()["items"]].count("school-koprinka") == 1


@pytest.mark.parametrize(
    "change, pointer",
    [
        ({"kind": "kindergarten"}, "#/kind"),
        ({"code": "Not A Slug"}, "#/code"),
        ({"municipality_codes": []}, "#/municipality_codes"),
        ({"municipality_codes": ["sofia"]}, "#/municipality_codes/0"),
        ({"name": "   "}, "#/name"),
    ],
)
async def test_invalid_organisation_fields_are_422_with_pointers(client, admin, change, pointer):
    response = await client.post(
        "/api/v1/organisations", json={**NEW_SCHOOL, **change}, headers=admin
    )
    assert response.status_code == 422, response.text
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
