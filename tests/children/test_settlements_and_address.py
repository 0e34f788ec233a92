"""Settlement (EKATTE) and address (DESIGN §3): every child may name the settlement it lives in,
which sets its municipality; the address is shown only to child protection and to police on a
`whereabouts_unknown` alert routed to them (the teams' rule comes with the teams)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.children.helpers import egn_for
from tests.core.helpers import assert_problem, pointers

TODAY = date(2027, 2, 1)
ANGEL = "1152035081"  # a Koprinka pupil of the demo, whose address the demo records
ADDRESS = "ул. „Розова долина“ 12"
PIN = egn_for(date(2015, 4, 20), serial=88)


@pytest.fixture(autouse=True)
def _frozen_clock(app):
    app.state.clock = lambda: TODAY


def _child(**change: object) -> dict[str, object]:
    return {"pin": PIN, "given_name": "Калина", "family_name": "Стойчева", "sex": "female", **change}


async def _angel(client, world, username: str):
    found = await client.post("/api/v1/children/lookup", json={"pin": ANGEL},
                              headers=await world.headers("cp-kazanlak.cp"))
    return await client.get(f"/api/v1/children/{found.json()['id']}", headers=await world.headers(username))


async def test_the_settlement_sets_the_childs_municipality(client, world):
    response = await client.post("/api/v1/children", json=_child(settlement_code="35167"),
                                 headers=await world.headers("cp-kazanlak.cp"))
    assert response.status_code == 201, response.text
    assert (response.json()["settlement_code"], response.json()["municipality_code"]) == ("35167", "SZR12")


async def test_an_unknown_settlement_or_one_of_another_municipality_is_refused(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    unknown = await client.post("/api/v1/children", json=_child(settlement_code="99999"), headers=cp)
    assert pointers(assert_problem(unknown, 422)) == ["#/settlement_code"]
    elsewhere = await client.post(
        "/api/v1/children", json=_child(settlement_code="44327", municipality_code="SZR12"), headers=cp
    )
    body = assert_problem(elsewhere, 422)
    assert pointers(body) == ["#/municipality_code"] and "LOV19" in body["errors"][0]["detail"]
    malformed = await client.post("/api/v1/children", json=_child(settlement_code="3516"), headers=cp)
    assert_problem(malformed, 422)


async def test_child_protection_sees_the_address_and_the_school_and_coordinator_do_not(client, world):
    for username, shown in (("cp-kazanlak.cp", ADDRESS), ("school-koprinka.admin", None),
                            ("school-koprinka.staff", None), ("mun-kazanlak.municipal", None)):
        response = await _angel(client, world, username)
        assert response.status_code == 200, (username, response.text)
        assert response.json()["address"] == shown, username
        assert response.json()["settlement_code"] == "38488"


async def test_police_see_the_address_only_on_a_whereabouts_unknown_alert_routed_to_them(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    child_id = (await client.post("/api/v1/children/lookup", json={"pin": ANGEL}, headers=cp)).json()["id"]
    # an alert that reaches the police for another reason: the child, not the address
    abuse = await client.post("/api/v1/alerts", headers=cp, json={
        "child_id": child_id, "type": "abuse_or_neglect_suspected", "severity": "urgent", "details": {}})
    assert abuse.status_code == 201, abuse.text
    police = await _angel(client, world, "police-kazanlak.police")
    assert police.status_code == 200 and police.json()["address"] is None
    whereabouts = await client.post("/api/v1/alerts", headers=await world.headers("mun-kazanlak.municipal"), json={
        "child_id": child_id, "type": "whereabouts_unknown", "severity": "urgent",
        "details": {"field_visit_result": "not_found"}})
    assert whereabouts.status_code == 201, whereabouts.text
    police = await _angel(client, world, "police-kazanlak.police")
    assert police.json()["address"] == ADDRESS
    # another municipality's police: nothing at all
    assert_problem(await _angel(client, world, "police-lukovit.police"), 404)
