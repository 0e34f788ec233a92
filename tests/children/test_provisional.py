"""Children without an ЕГН (DESIGN §3): a field team registers a provisional child by names,
approximate year of birth, sex and settlement; when the PIN is found the provisional record is
merged into the PIN-identified one — its alerts, enrolments and consents move, the old id
answers 301, and the merge is audited. Two records that both have a PIN are never merged."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from service.audit.models import AuditEvent
from service.children.models import Child
from tests.children.helpers import egn_for
from tests.core.helpers import assert_problem, pointers

TODAY = date(2027, 2, 1)
KOPRINKA = "38488"  # Копринка (SZR12)
LUKOVIT = "44327"  # Луковит (LOV19)
ANGEL = "1152035081"  # a Koprinka pupil of the demo, born 2011-12-03
KAZANLAK_PUPIL = "1552049639"  # a pupil of school-kazanlak
FOUND_PIN = egn_for(date(2012, 6, 1), serial=455)  # a PIN nobody has yet


@pytest.fixture(autouse=True)
def _frozen_clock(app):
    app.state.clock = lambda: TODAY


def _provisional(**change: object) -> dict[str, object]:
    return {"given_name": "Ангел", "family_name": "Ангелов", "birth_year": 2011, "sex": "male",
            "settlement_code": KOPRINKA, "address": "махала „Изгрев“, до чешмата", **change}


async def _register_provisional(client, world, username: str = "mun-kazanlak.municipal", **change: object) -> str:
    response = await client.post(
        "/api/v1/children/provisional", json=_provisional(**change), headers=await world.headers(username)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _child_id(client, world, pin: str, username: str = "cp-kazanlak.cp") -> str:
    found = await client.post("/api/v1/children/lookup", json={"pin": pin}, headers=await world.headers(username))
    assert found.status_code == 200, found.text
    return str(found.json()["id"])


async def _merge(client, world, record: str, username: str = "mun-kazanlak.municipal", **body: str):
    return await client.post(f"/api/v1/children/{record}/merge", json=body, headers=await world.headers(username))


async def _not_enrolled_alert(client, world, child_id: str) -> str:
    raised = await client.post(
        "/api/v1/alerts", headers=await world.headers("mun-kazanlak.municipal"),
        json={"child_id": child_id, "type": "not_enrolled", "severity": "concern",
              "details": {"school_year": "2026/2027"}},
    )
    assert raised.status_code == 201, raised.text
    return str(raised.json()["id"])


async def _audit(world, child_id: str, action: str) -> list[AuditEvent]:
    async with world.database.transaction() as session:
        return list((await session.execute(
            select(AuditEvent).where(AuditEvent.child_id == uuid.UUID(child_id), AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        )).scalars())


async def test_a_coordinator_registers_a_provisional_child_and_the_same_child_again_is_matched(client, world):
    response = await client.post(
        "/api/v1/children/provisional", json=_provisional(), headers=await world.headers("mun-kazanlak.municipal")
    )
    assert response.status_code == 201, response.text
    child = response.json()
    assert (child["provisional"], child["birth_year"], child["settlement_code"], child["municipality_code"]) == (
        True, 2011, KOPRINKA, "SZR12"
    )
    assert child["date_of_birth"] is None
    assert child["address"] is None  # a coordinator does not see the address
    # the same child met again, names typed in another case: the same record
    again = await client.post(
        "/api/v1/children/provisional", json=_provisional(given_name="АНГЕЛ", family_name="ангелов"),
        headers=await world.headers("cp-kazanlak.cp"),
    )
    assert again.status_code == 200, again.text
    assert again.json() == {"id": child["id"]}
    # another year of birth is another child
    other = await client.post(
        "/api/v1/children/provisional", json=_provisional(birth_year=2013),
        headers=await world.headers("cp-kazanlak.cp"),
    )
    assert other.status_code == 201 and other.json()["id"] != child["id"]
    assert other.json()["address"] == "махала „Изгрев“, до чешмата"  # child protection sees it
    assert [e.reason for e in await _audit(world, child["id"], "child.provisional.register")] == [
        "provisional child registered", "known provisional child matched"
    ]


async def test_who_may_register_a_provisional_child(client, world):
    for username in ("school-koprinka.admin", "school-kazanlak.staff", "provider-kazanlak.provider"):
        assert_problem(await client.post(
            "/api/v1/children/provisional", json=_provisional(), headers=await world.headers(username)
        ), 403)
    # the Koprinka teacher is on team-kazanlak, whose area covers Копринка (DESIGN §7: team members)
    assert (await client.post(
        "/api/v1/children/provisional", json=_provisional(), headers=await world.headers("school-koprinka.staff")
    )).status_code == 201
    # another municipality's coordinator: not a settlement it serves
    assert_problem(await client.post(
        "/api/v1/children/provisional", json=_provisional(), headers=await world.headers("mun-lukovit.municipal")
    ), 403)
    assert (await client.post(
        "/api/v1/children/provisional", json=_provisional(settlement_code=LUKOVIT),
        headers=await world.headers("mun-lukovit.municipal"),
    )).status_code == 201
    unknown = await client.post(
        "/api/v1/children/provisional", json=_provisional(settlement_code="99999"),
        headers=await world.headers("mun-kazanlak.municipal"),
    )
    assert pointers(assert_problem(unknown, 422)) == ["#/settlement_code"]
    future = await client.post(
        "/api/v1/children/provisional", json=_provisional(birth_year=2028),
        headers=await world.headers("mun-kazanlak.municipal"),
    )
    assert pointers(assert_problem(future, 422)) == ["#/birth_year"]


async def test_merging_into_the_pin_record_moves_alerts_and_consents_and_the_old_id_answers_301(client, world):
    provisional = await _register_provisional(client, world)
    alert_id = await _not_enrolled_alert(client, world, provisional)
    provider = str(await world.organisation_id("provider-kazanlak"))
    consent = await client.post(
        f"/api/v1/children/{provisional}/consents", headers=await world.headers("cp-kazanlak.cp"),
        json={"guardian_name": "Мария Ангелова", "guardian_relationship": "mother", "purposes": ["support_services"],
              "recipient_ids": [provider], "valid_from": "2027-01-01", "valid_until": "2027-12-31",
              "evidence": "вх. № 7/2027"},
    )
    assert consent.status_code == 201, consent.text
    kept = await _child_id(client, world, ANGEL)

    merged = await _merge(client, world, provisional, pin=ANGEL)
    assert merged.status_code == 200, merged.text
    assert merged.json() == {"id": kept, "merged_child_id": provisional, "alerts_moved": 1, "enrolments_moved": 0,
                             "consents_moved": 1, "absence_reports_moved": 0}

    cp = await world.headers("cp-kazanlak.cp")
    alert = await client.get(f"/api/v1/alerts/{alert_id}", headers=cp)
    assert alert.json()["child_id"] == kept
    moved = await client.get(f"/api/v1/children/{provisional}", headers=cp, follow_redirects=False)
    assert moved.status_code == 301, moved.text
    assert moved.headers["Location"] == f"/api/v1/children/{kept}"
    history = await client.get(f"/api/v1/children/{provisional}/history", headers=cp, follow_redirects=False)
    assert (history.status_code, history.headers["Location"]) == (301, f"/api/v1/children/{kept}/history")
    followed = await client.get(f"/api/v1/children/{provisional}", headers=cp, follow_redirects=True)
    assert followed.status_code == 200 and followed.json()["id"] == kept
    assert followed.json()["settlement_code"] == KOPRINKA
    consents = await client.get(f"/api/v1/children/{kept}/consents", headers=cp)
    assert [c["id"] for c in consents.json()["items"]] == [consent.json()["id"]]
    # an organisation unrelated to the kept child learns nothing from the old id
    assert_problem(await client.get(f"/api/v1/children/{provisional}",
                                    headers=await world.headers("cp-lukovit.cp")), 404)
    # the old record keeps no identity of its own
    async with world.database.transaction() as session:
        old = await session.get(Child, uuid.UUID(provisional))
    assert old is not None
    assert (old.given_name, old.family_name, old.address, old.merged_into_id) == (None, None, None, uuid.UUID(kept))
    # nothing new lands on the old record
    late = await client.post("/api/v1/alerts", headers=await world.headers("mun-kazanlak.municipal"), json={
        "child_id": provisional, "type": "not_enrolled", "severity": "concern",
        "details": {"school_year": "2026/2027"}})
    assert pointers(assert_problem(late, 422)) == ["#/child_id"]
    # audited about both records
    assert [e.decision for e in await _audit(world, provisional, "child.merge")] == ["allow"]
    assert [e.reason for e in await _audit(world, kept, "child.merge")] == ["provisional record merged into this child"]


async def test_two_records_that_both_have_a_pin_are_never_merged(client, world):
    angel, other = await _child_id(client, world, ANGEL), await _child_id(client, world, KAZANLAK_PUPIL)
    by_id = await _merge(client, world, angel, child_id=other)
    body = assert_problem(by_id, 409)
    assert "both records have a PIN" in body["detail"]
    by_pin = await _merge(client, world, angel, pin=KAZANLAK_PUPIL)
    assert_problem(by_pin, 409)
    assert [e.decision for e in await _audit(world, angel, "child.merge")] == ["deny", "deny"]
    # nothing moved: each pupil is still its school's
    assert (await client.get(f"/api/v1/children/{angel}", headers=await world.headers("school-koprinka.staff"))
            ).status_code == 200
    assert (await client.get(f"/api/v1/children/{other}", headers=await world.headers("school-kazanlak.staff"))
            ).status_code == 200


async def test_a_pin_nobody_has_yet_is_given_to_the_provisional_record(client, world):
    provisional = await _register_provisional(client, world, birth_year=2012)
    merged = await _merge(client, world, provisional, username="cp-kazanlak.cp", pin=FOUND_PIN)
    assert merged.status_code == 200, merged.text
    assert (merged.json()["id"], merged.json()["merged_child_id"]) == (provisional, None)
    found = (await client.post("/api/v1/children/lookup", json={"pin": FOUND_PIN},
                               headers=await world.headers("cp-kazanlak.cp"))).json()
    assert (found["id"], found["provisional"], found["date_of_birth"]) == (provisional, False, "2012-06-01")


async def test_an_enrolment_of_the_provisional_child_moves_to_the_kept_record(client, world):
    provisional = await _register_provisional(client, world, birth_year=2012)
    admin = await world.headers("school-koprinka.admin")
    enrolled = await client.post("/api/v1/enrolments", headers=admin, json={
        "child_id": provisional, "school_id": str(await world.organisation_id("school-koprinka")), "grade": 8,
        "start_date": "2027-01-15"})
    assert enrolled.status_code == 201, enrolled.text
    registered = await client.post("/api/v1/children", headers=await world.headers("cp-kazanlak.cp"), json={
        "pin": FOUND_PIN, "given_name": "Ангел", "family_name": "Ангелов", "sex": "male",
        "settlement_code": KOPRINKA})
    assert registered.status_code == 201, registered.text
    kept = registered.json()["id"]
    merged = await _merge(client, world, provisional, child_id=kept)
    assert merged.status_code == 200, merged.text
    assert merged.json()["enrolments_moved"] == 1
    now = await client.get(f"/api/v1/children/{kept}", headers=admin)
    assert now.status_code == 200 and now.json()["current_enrolment"]["id"] == enrolled.json()["id"]


async def test_who_may_merge(client, world):
    provisional = await _register_provisional(client, world)
    for username in ("school-koprinka.admin", "police-kazanlak.police", "provider-kazanlak.provider"):
        assert_problem(await _merge(client, world, provisional, username=username, pin=ANGEL), 403)
    # another municipality's department has no relationship with the provisional child
    assert_problem(await _merge(client, world, provisional, username="cp-lukovit.cp", pin=ANGEL), 404)
    assert_problem(await _merge(client, world, str(uuid.uuid4()), pin=ANGEL), 404)
    # a PIN of a child born years away from the provisional record's year is not the same child
    far = await _merge(client, world, provisional, pin=KAZANLAK_PUPIL)
    assert pointers(assert_problem(far, 422)) == ["#/pin"]
    both = await client.post(f"/api/v1/children/{provisional}/merge", json={"pin": ANGEL, "child_id": provisional},
                             headers=await world.headers("mun-kazanlak.municipal"))
    assert_problem(both, 422)
