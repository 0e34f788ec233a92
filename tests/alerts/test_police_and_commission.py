"""Police and the juvenile commission (DESIGN §3 `found_out_of_school`, §4 points 2 and 7).

The juvenile inspector's walk: a 13-year-old found in town at 10:00 on a school day is looked
up (in the unit's municipalities only), a `found_out_of_school` alert goes to the child's
school (lead) and child protection, and the school answers whether the absence was excused.
The juvenile commission sees only what police and child protection referred to it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from service.audit.models import AuditEvent
from service.core.clock import local_today
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, by_organisation, pupil_id, raise_alert
from tests.core.helpers import assert_problem, pointers

LUKOVIT_PUPIL_PIN = "1741096847"  # a pupil of school-lukovit-1 (LOV19): not police-kazanlak's area
FOUND = {"found_at": "2026-11-24T10:00:00+02:00", "place": "Площад „Севтополис“, до автогарата"}


@pytest.fixture
async def people(world):
    class People:
        pass

    p = People()
    p.world = world
    p.teacher = await world.headers("school-koprinka.staff")
    p.principal = await world.headers("school-koprinka.admin")
    p.cp = await world.headers("cp-kazanlak.cp")
    p.police = await world.headers("police-kazanlak.police")
    p.lukovit_police = await world.headers("police-lukovit.police")
    p.municipal = await world.headers("mun-kazanlak.municipal")
    p.commission = await world.headers("mkbppmn-kazanlak.commission")
    p.school_id = str(await world.organisation_id("school-koprinka"))
    p.cp_id = str(await world.organisation_id("cp-kazanlak"))
    p.police_id = str(await world.organisation_id("police-kazanlak"))
    p.commission_id = str(await world.organisation_id("mkbppmn-kazanlak"))
    return p


async def _audit(world, action: str) -> list[AuditEvent]:
    async with world.database.transaction() as session:
        rows = await session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
        return list(rows.scalars())


async def _inbox(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/inbox", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _found_out_of_school(client, people) -> dict[str, Any]:
    looked_up = await client.post(
        "/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PINS[0]}, headers=people.police
    )
    assert looked_up.status_code == 200, looked_up.text
    return await raise_alert(client, people.police, looked_up.json()["id"], "found_out_of_school", details=FOUND)


# --- the inspector's walk ------------------------------------------------------------------------


async def test_the_inspectors_walk(client, people):
    # a lookup in the unit's area: identity only, for law enforcement, audited
    looked_up = await client.post(
        "/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PINS[0]}, headers=people.police
    )
    assert looked_up.status_code == 200, looked_up.text
    child = looked_up.json()
    assert child["given_name"] == "Ангел" and child["date_of_birth"] == "2011-12-03"
    assert child["current_enrolment"] is None, "a police lookup shows identity, not the school"
    lookups = [e for e in await _audit(people.world, "child.lookup") if str(e.child_id) == child["id"]]
    assert [(e.decision, e.purpose, str(e.actor_organisation_id)) for e in lookups] == [
        ("allow", "law_enforcement", people.police_id)
    ]

    # a child of another municipality is not found, as if it did not exist
    elsewhere = await client.post("/api/v1/children/lookup", json={"pin": LUKOVIT_PUPIL_PIN}, headers=people.police)
    assert_problem(elsewhere, 404)
    assert "Емил" not in elsewhere.text

    # found in town at 10:00: the child's school leads, child protection follows
    alert = await raise_alert(client, people.police, child["id"], "found_out_of_school", details=FOUND)
    assert alert["legal_basis"] == "public_task"
    assert alert["details"]["place"] == FOUND["place"]
    routed = {r["organisation_id"]: r["lead"] for r in alert["recipients"]}
    assert routed == {people.school_id: True, people.cp_id: False}

    # the school and child protection see it in their inboxes
    for headers in (people.teacher, people.cp):
        assert alert["id"] in {i["alert"]["id"] for i in await _inbox(client, headers) if i["kind"] == "alert"}

    # the school acknowledges and answers: the absence was not excused
    acknowledged = await act(client, people.teacher, alert["id"], "acknowledge")
    assert acknowledged.status_code == 200, acknowledged.text
    assert by_organisation(acknowledged.json())[people.school_id]["state"] == "acknowledged"
    answered = await act(
        client, people.teacher, alert["id"], "actions",
        {"kind": "absence_answer", "absence_excused": False, "text": "Няма бележка от родител за 24.11."},
    )
    assert answered.status_code == 200, answered.text

    # child protection reads the answer with its text; the police unit that raised the alert
    # reads the answer (excused or not), not the school's words
    by_cp = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.cp)).json()
    assert [(a["kind"], a["absence_excused"], a["text"]) for a in by_cp["actions"]] == [
        ("absence_answer", False, "Няма бележка от родител за 24.11.")
    ]
    by_police = await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.police)
    assert by_police.status_code == 200, by_police.text
    assert [(a["kind"], a["absence_excused"], a["text"]) for a in by_police.json()["actions"]] == [
        ("absence_answer", False, None)
    ]

    # the school, as lead, closes: the pupil is back at school
    closed = await act(client, people.teacher, alert["id"], "close", {"outcome": "returned_to_school"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"


async def test_police_lookup_for_another_purpose_is_refused(client, people):
    refused = await client.post(
        "/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PINS[0]},
        headers={**people.police, "X-Purpose-Of-Use": "emergency"},
    )
    assert_problem(refused, 403)


async def test_police_of_another_municipality_cannot_raise_found_out_of_school(client, people):
    child_id = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[0])
    refused = await client.post(
        "/api/v1/alerts", headers=people.lukovit_police,
        json={"child_id": child_id, "type": "found_out_of_school", "details": FOUND},
    )
    assert_problem(refused, 404)


async def test_police_raise_only_found_out_of_school_about_children_not_routed_to_them(client, people):
    child_id = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[0])
    refused = await client.post(
        "/api/v1/alerts", headers=people.police,
        json={"child_id": child_id, "type": "dropout_risk", "details": {"indicators": ["absences"]}},
    )
    assert_problem(refused, 404)


async def test_a_municipality_raises_found_out_of_school_too(client, people):
    child_id = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[1])
    alert = await raise_alert(client, people.municipal, child_id, "found_out_of_school", details=FOUND)
    routed = {r["organisation_id"]: r["lead"] for r in alert["recipients"]}
    assert routed == {people.school_id: True, people.cp_id: False}


async def test_a_child_at_no_school_found_out_of_school_goes_to_child_protection(client, people):
    principal = people.principal
    child_id = await pupil_id(client, principal, KOPRINKA_PUPIL_PINS[2])
    enrolment = (await client.get(f"/api/v1/children/{child_id}", headers=principal)).json()["current_enrolment"]
    released = await client.post(
        f"/api/v1/enrolments/{enrolment['id']}/release", headers=principal,
        json={"destination": "abroad", "date": str(local_today() - timedelta(days=1))},
    )
    assert released.status_code == 200, released.text
    alert = await raise_alert(client, people.police, child_id, "found_out_of_school", details=FOUND)
    assert {r["organisation_id"]: r["lead"] for r in alert["recipients"]} == {people.cp_id: True}


@pytest.mark.parametrize(
    ("details", "pointer"),
    [
        ({"found_at": "2026-11-24T10:00:00+02:00"}, "#/details/place"),
        ({"place": "Автогарата"}, "#/details/found_at"),
        ({"found_at": "2026-11-24T10:00:00", "place": "Автогарата"}, "#/details/found_at"),
        ({"found_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(), "place": "Автогарата"},
         "#/details/found_at"),
        ({**FOUND, "settlement_code": "Казанлък"}, "#/details/settlement_code"),
    ],
)
async def test_found_out_of_school_needs_place_and_a_past_time(client, people, details, pointer):
    child_id = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[0])
    refused = await client.post(
        "/api/v1/alerts", headers=people.police,
        json={"child_id": child_id, "type": "found_out_of_school", "details": details},
    )
    assert pointer in pointers(assert_problem(refused, 422))


async def test_only_the_school_answers_whether_the_absence_was_excused(client, people):
    alert = await _found_out_of_school(client, people)
    by_cp = await act(client, people.cp, alert["id"], "actions", {"kind": "absence_answer", "absence_excused": True})
    assert "#/kind" in pointers(assert_problem(by_cp, 422))
    no_answer = await act(client, people.teacher, alert["id"], "actions", {"kind": "absence_answer"})
    assert_problem(no_answer, 422)
    other = await raise_alert(
        client, people.teacher, alert["child_id"], "dropout_risk", details={"indicators": ["absences"]}
    )
    answer = {"kind": "absence_answer", "absence_excused": True}
    not_here = await act(client, people.municipal, other["id"], "actions", answer)
    assert "#/kind" in pointers(assert_problem(not_here, 422))


async def test_a_school_not_routed_the_alert_cannot_answer_it(client, people, world):
    alert = await _found_out_of_school(client, people)
    other_school = await world.headers("school-kazanlak.staff")
    refused = await client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge", headers={**other_school, "If-Match": '"1"'}
    )
    assert_problem(refused, 404)


# --- the juvenile commission ---------------------------------------------------------------------


async def test_the_commission_sees_only_what_was_referred_to_it(client, people):
    child_id = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[0])
    absences = await raise_alert(client, people.teacher, child_id)
    found = await raise_alert(client, people.police, child_id, "found_out_of_school", details=FOUND)

    # nothing referred yet: the commission knows nothing of the child
    assert_problem(await client.get(f"/api/v1/alerts/{found['id']}", headers=people.commission), 404)
    assert_problem(await client.get(f"/api/v1/children/{child_id}", headers=people.commission), 404)
    assert await _inbox(client, people.commission) == []

    referred = await act(
        client, people.cp, found["id"], "actions", {"kind": "referral", "recipient_id": people.commission_id}
    )
    assert referred.status_code == 200, referred.text
    assert people.commission_id in by_organisation(referred.json())

    inbox = await _inbox(client, people.commission)
    assert [i["alert"]["id"] for i in inbox if i["kind"] == "alert"] == [found["id"]]
    assert (await client.get(f"/api/v1/children/{child_id}", headers=people.commission)).status_code == 200
    assert_problem(await client.get(f"/api/v1/alerts/{absences['id']}", headers=people.commission), 404)
    history = await client.get(f"/api/v1/children/{child_id}/history", headers=people.commission)
    assert history.status_code == 200, history.text
    assert {e["alert_id"] for e in history.json()["entries"]} == {found["id"]}
    listed = await client.get("/api/v1/alerts", headers=people.commission)
    assert [a["id"] for a in listed.json()["items"]] == [found["id"]]

    # the commission acknowledges and records its meeting
    acknowledged = await act(client, people.commission, found["id"], "acknowledge")
    assert acknowledged.status_code == 200, acknowledged.text
    met = await act(
        client, people.commission, found["id"], "actions", {"kind": "meeting", "text": "Възпитателна беседа"}
    )
    assert met.status_code == 200, met.text


async def test_police_refer_an_alert_routed_to_them_to_the_commission(client, people):
    child_id = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[1])
    whereabouts = await raise_alert(
        client, people.municipal, child_id, "whereabouts_unknown", severity="urgent",
        details={"field_visit_result": "not_found"},
    )
    referred = await act(
        client, people.police, whereabouts["id"], "actions", {"kind": "referral", "recipient_id": people.commission_id}
    )
    assert referred.status_code == 200, referred.text
    assert (await client.get(f"/api/v1/alerts/{whereabouts['id']}", headers=people.commission)).status_code == 200


async def test_only_police_and_child_protection_refer_to_the_commission(client, people):
    child_id = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[0])
    alert = await raise_alert(client, people.teacher, child_id)  # routed to cp-kazanlak and mun-kazanlak
    refused = await act(
        client, people.municipal, alert["id"], "actions", {"kind": "referral", "recipient_id": people.commission_id}
    )
    assert "#/recipient_id" in pointers(assert_problem(refused, 422))
    assert_problem(await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.commission), 404)


async def test_a_commission_of_another_municipality_is_not_referred_to(client, people, admin):
    created = await client.post("/api/v1/organisations", headers=admin, json={
        "code": "mkbppmn-lukovit", "kind": "juvenile_commission", "name": "МКБППМН Луковит",
        "municipality_codes": ["LOV19"]})
    assert created.status_code == 201, created.text
    child_id = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[0])
    alert = await raise_alert(client, people.teacher, child_id)
    refused = await act(
        client, people.cp, alert["id"], "actions", {"kind": "referral", "recipient_id": created.json()["id"]}
    )
    assert "#/recipient_id" in pointers(assert_problem(refused, 422))
