"""An organisation's phone and e-mail (whom to call, DESIGN §4 point 7): set by administrators
through the organisation endpoints, removed with null, refused when malformed."""

from __future__ import annotations

import pytest

from tests.core.helpers import assert_problem, pointers

COMMISSION = {
    "code": "mkbppmn-shipka", "kind": "juvenile_commission", "name": "МКБППМН Шипка",
    "municipality_codes": ["SZR12"], "phone": "+359 431 2 34 56", "email": "mkbppmn@shipka.example",
}


async def test_admin_sets_changes_and_removes_contact_details(client, admin):
    created = await client.post("/api/v1/organisations", json=COMMISSION, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["kind"], body["phone"], body["email"]) == ("juvenile_commission", "+359 431 2 34 56",
                                                            "mkbppmn@shipka.example")
    url = f"/api/v1/organisations/{body['id']}"

    changed = await client.patch(url, json={"phone": "0431 62 345"}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["phone"], changed.json()["email"]) == ("0431 62 345", "mkbppmn@shipka.example")

    removed = await client.patch(url, json={"email": None}, headers=admin)
    assert (removed.json()["phone"], removed.json()["email"]) == ("0431 62 345", None)
    assert (await client.get(url, headers=admin)).json()["email"] is None


@pytest.mark.parametrize(
    ("field", "value"), [("phone", "call me"), ("phone", "12"), ("email", "nobody"), ("email", "a@b")]
)
async def test_malformed_contact_details_name_the_field(client, admin, field, value):
    refused = await client.post("/api/v1/organisations", json={**COMMISSION, field: value}, headers=admin)
    assert f"#/{field}" in pointers(assert_problem(refused, 422))


async def test_only_administrators_change_contact_details(client, world, admin):
    cp = await world.headers("cp-kazanlak.cp")
    cp_id = await world.organisation_id("cp-kazanlak")
    refused = await client.patch(f"/api/v1/organisations/{cp_id}", json={"phone": "0431 11 111"}, headers=cp)
    assert_problem(refused, 403)
    read = await client.get(f"/api/v1/organisations/{cp_id}", headers=admin)
    assert read.json()["phone"] == "+359 431 0 0101", "the demo department's phone, unchanged"
