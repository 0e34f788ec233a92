"""Enrolments (DESIGN §3, §7): a school administrator enrols pupils at their own school; a pupil
of another school moves only when that school releases it (the transfer certificate); a school
sees only its current pupils, and nothing from before its enrolment."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from service.audit.models import AuditEvent
from service.children.models import Enrolment
from tests.alerts.helpers import raise_alert
from tests.children.helpers import egn_for
from tests.core.helpers import assert_problem, pointers

TODAY = date(2027, 2, 1)
SCHOOL_YEAR_START = "2026-09-15"


@pytest.fixture(autouse=True)
def _frozen_clock(app):
    app.state.clock = lambda: TODAY


PIN = egn_for(date(2015, 4, 20), serial=1)


async def _register(client, world, serial: int = 1, username: str = "school-koprinka.admin") -> str:
    pin = egn_for(date(2015, 4, 20), serial=serial)
    response = await client.post(
        "/api/v1/children",
        json={"pin": pin, "given_name": "Калина", "family_name": "Стойчева", "sex": "female",
              "municipality_code": "SZR12"},
        headers=await world.headers(username),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _enrol(client, world, username: str, school_code: str, child_id: str, start: str, grade: int = 5):
    return await client.post(
        "/api/v1/enrolments",
        json={"child_id": child_id, "school_id": str(await world.organisation_id(school_code)),
              "grade": grade, "start_date": start},
        headers=await world.headers(username),
    )


async def _enrolled_at_koprinka(client, world, child_id: str) -> dict:
    response = await _enrol(client, world, "school-koprinka.admin", "school-koprinka", child_id, SCHOOL_YEAR_START)
    assert response.status_code == 201, response.text
    return response.json()


async def _release(client, headers: dict[str, str], enrolment_id: str, destination: str, **fields: str):
    return await client.post(
        f"/api/v1/enrolments/{enrolment_id}/release", json={"destination": destination, **fields}, headers=headers
    )


async def _send_absences(client, world, username: str):
    return await client.post(
        "/api/v1/absence-reports",
        json={"rows": [{"pin": PIN, "month": "2027-01", "unexcused_hours": 0, "excused_hours": 2}]},
        headers=await world.headers(username),
    )


async def _audit(world, child_id: str, *, decision: str) -> list[AuditEvent]:
    """The audit events about the child's enrolments and alerts with this decision, in order."""
    async with world.database.transaction() as session:
        return list(
            (await session.execute(
                select(AuditEvent)
                .where(AuditEvent.child_id == uuid.UUID(child_id), AuditEvent.decision == decision)
                .order_by(AuditEvent.seq)
            )).scalars().all()
        )


async def _enrolment_rows(world, child_id: str) -> list[Enrolment]:
    async with world.database.transaction() as session:
        return list(
            (await session.execute(
                select(Enrolment).where(Enrolment.child_id == uuid.UUID(child_id)).order_by(Enrolment.start_date)
            )).scalars().all()
        )


async def test_a_school_admin_enrols_a_newly_registered_child_at_their_school(client, world):
    admin = await world.headers("school-koprinka.admin")
    child_id = await _register(client, world)
    # registered, but not yet a pupil: the school has no relationship with the child
    assert_problem(await client.get(f"/api/v1/children/{child_id}", headers=admin), 404)

    response = await _enrol(client, world, "school-koprinka.admin", "school-koprinka", child_id, SCHOOL_YEAR_START)
    assert response.status_code == 201, response.text
    enrolment = response.json()
    uuid.UUID(enrolment["id"])
    assert enrolment["child_id"] == child_id
    assert enrolment["school_id"] == str(await world.organisation_id("school-koprinka"))
    assert (enrolment["grade"], enrolment["start_date"], enrolment["end_date"]) == (5, SCHOOL_YEAR_START, None)

    child = await client.get(f"/api/v1/children/{child_id}", headers=admin)
    assert child.status_code == 200, child.text
    assert child.json()["current_enrolment"]["id"] == enrolment["id"]
    # the class teacher now finds the pupil too
    teacher = await client.get(f"/api/v1/children/{child_id}", headers=await world.headers("school-koprinka.staff"))
    assert teacher.status_code == 200, teacher.text


async def test_school_staff_may_not_enrol(client, world):
    child_id = await _register(client, world)
    response = await _enrol(client, world, "school-koprinka.staff", "school-koprinka", child_id, SCHOOL_YEAR_START)
    assert_problem(response, 403)
    assert await _enrolment_rows(world, child_id) == []


@pytest.mark.parametrize("other", ["school-kazanlak", "cp-kazanlak"])
async def test_a_school_admin_cannot_enrol_into_another_organisation(client, world, other):
    child_id = await _register(client, world)
    response = await _enrol(client, world, "school-koprinka.admin", other, child_id, SCHOOL_YEAR_START)
    assert pointers(assert_problem(response, 422)) == ["#/school_id"]
    assert await _enrolment_rows(world, child_id) == []


async def test_enrolling_an_unknown_child_is_refused(client, world):
    response = await _enrol(
        client, world, "school-koprinka.admin", "school-koprinka", str(uuid.uuid4()), SCHOOL_YEAR_START
    )
    assert pointers(assert_problem(response, 422)) == ["#/child_id"]


async def test_enrolling_the_same_pupil_twice_at_the_same_school_is_refused(client, world):
    child_id = await _register(client, world)
    first = await _enrol(client, world, "school-koprinka.admin", "school-koprinka", child_id, SCHOOL_YEAR_START)
    assert first.status_code == 201, first.text
    again = await _enrol(client, world, "school-koprinka.admin", "school-koprinka", child_id, "2027-01-10")
    assert_problem(again, 422)
    assert len(await _enrolment_rows(world, child_id)) == 1


async def test_another_school_enrolling_a_pupil_not_released_to_it_gets_409_and_the_school_keeps_its_pupil(
    client, world
):
    """The hijack of issue 15: a school admin who knows a PIN registers it (learning the id) and
    enrols the child at their own school. It is refused, and the real school loses nothing."""
    koprinka_admin = await world.headers("school-koprinka.admin")
    kazanlak_admin = await world.headers("school-kazanlak.admin")
    child_id = await _register(client, world)
    at_a = await _enrolled_at_koprinka(client, world, child_id)

    matched = await client.post(
        "/api/v1/children",
        json={"pin": PIN, "given_name": "Някой", "family_name": "Друг", "sex": "female"},
        headers=kazanlak_admin,
    )
    assert matched.status_code == 200, matched.text
    assert matched.json() == {"id": child_id}

    hijack = await _enrol(client, world, "school-kazanlak.admin", "school-kazanlak", child_id, TODAY.isoformat())
    body = assert_problem(hijack, 409)
    shown = json.dumps({k: v for k, v in body.items() if k not in ("instance", "request_id")}, ensure_ascii=False)
    for secret in (child_id, at_a["id"], str(await world.organisation_id("school-koprinka")), "Калина", "Копринка"):
        assert secret not in shown, f"the 409 names {secret!r}: {shown}"

    # the refusal is in the audit trail, as Kazanlak's denial about this child
    denials = await _audit(world, child_id, decision="deny")
    assert [(e.action, e.actor_organisation_id) for e in denials] == [
        ("enrolment.manage", await world.organisation_id("school-kazanlak"))
    ]

    # nothing changed: Koprinka's enrolment stays open, Kazanlak has none and reads nothing
    assert [(str(r.school_id), r.end_date) for r in await _enrolment_rows(world, child_id)] == [
        (str(await world.organisation_id("school-koprinka")), None)
    ]
    assert_problem(await client.get(f"/api/v1/children/{child_id}", headers=kazanlak_admin), 404)
    still = await client.get(f"/api/v1/children/{child_id}", headers=koprinka_admin)
    assert still.status_code == 200, still.text
    assert still.json()["current_enrolment"]["id"] == at_a["id"]
    # ... and Koprinka's absence feed still takes the pupil
    feed = await _send_absences(client, world, "school-koprinka.admin")
    assert feed.status_code == 201, feed.text
    assert feed.json()["rows_accepted"] == 1
    assert_problem(await _send_absences(client, world, "school-kazanlak.admin"), 422)


async def test_a_pupil_released_to_a_school_is_enrolled_there_from_the_day_after(client, world, app):
    koprinka_admin = await world.headers("school-koprinka.admin")
    kazanlak_admin = await world.headers("school-kazanlak.admin")
    kazanlak = str(await world.organisation_id("school-kazanlak"))
    child_id = await _register(client, world)
    at_a = await _enrolled_at_koprinka(client, world, child_id)

    released = await _release(client, koprinka_admin, at_a["id"], "school", school_id=kazanlak, date="2027-02-05")
    assert released.status_code == 200, released.text
    assert {k: released.json()[k] for k in ("end_date", "release_destination", "release_school_id", "alert_id")} == {
        "end_date": "2027-02-05", "release_destination": "school", "release_school_id": kazanlak, "alert_id": None,
    }
    # the pupil is Koprinka's through the release date
    assert (await client.get(f"/api/v1/children/{child_id}", headers=koprinka_admin)).status_code == 200
    too_early = await _enrol(client, world, "school-kazanlak.admin", "school-kazanlak", child_id, "2027-02-05")
    assert pointers(assert_problem(too_early, 422)) == ["#/start_date"]

    at_b = await _enrol(client, world, "school-kazanlak.admin", "school-kazanlak", child_id, "2027-02-06", grade=6)
    assert at_b.status_code == 201, at_b.text
    rows = {str(row.id): row for row in await _enrolment_rows(world, child_id)}
    assert rows[at_a["id"]].end_date == date(2027, 2, 5), "the receiving school ends nobody's enrolment"
    assert rows[at_b.json()["id"]].end_date is None

    app.state.clock = lambda: date(2027, 2, 6)
    assert_problem(await client.get(f"/api/v1/children/{child_id}", headers=koprinka_admin), 404)
    now_at_b = await client.get(f"/api/v1/children/{child_id}", headers=kazanlak_admin)
    assert now_at_b.status_code == 200, now_at_b.text
    assert now_at_b.json()["current_enrolment"]["school_id"] == kazanlak
    assert now_at_b.json()["current_enrolment"]["grade"] == 6


async def test_a_pupil_released_to_one_school_cannot_be_taken_by_another(client, world, app):
    koprinka_admin = await world.headers("school-koprinka.admin")
    child_id = await _register(client, world)
    at_a = await _enrolled_at_koprinka(client, world, child_id)
    kazanlak = str(await world.organisation_id("school-kazanlak"))
    released = await _release(client, koprinka_admin, at_a["id"], "school", school_id=kazanlak)
    assert released.status_code == 200, released.text

    # not while the release is pending, nor after it: the certificate names Kazanlak
    for start in (TODAY.isoformat(), "2027-03-01"):
        other = await _enrol(client, world, "school-lukovit-1.admin", "school-lukovit-1", child_id, start)
        assert_problem(other, 409)
    at_b = await _enrol(client, world, "school-kazanlak.admin", "school-kazanlak", child_id, "2027-02-02")
    assert at_b.status_code == 201, at_b.text


@pytest.mark.parametrize("destination", ["abroad", "unknown"])
async def test_a_pupil_released_abroad_or_to_an_unknown_destination_may_be_enrolled_by_any_school(
    client, world, destination
):
    child_id = await _register(client, world)
    at_a = await _enrolled_at_koprinka(client, world, child_id)
    released = await _release(client, await world.headers("school-koprinka.admin"), at_a["id"], destination)
    assert released.status_code == 200, released.text
    back = await _enrol(client, world, "school-lukovit-1.admin", "school-lukovit-1", child_id, "2027-09-15")
    assert back.status_code == 201, back.text


async def test_a_release_to_an_unknown_destination_raises_left_education_routed_by_the_rules(client, world):
    koprinka_admin = await world.headers("school-koprinka.admin")
    child_id = await _register(client, world)
    at_a = await _enrolled_at_koprinka(client, world, child_id)

    released = await _release(client, koprinka_admin, at_a["id"], "unknown", date="2027-01-29")
    assert released.status_code == 200, released.text
    assert released.json()["end_date"] == "2027-01-29"
    alert_id = released.json()["alert_id"]
    assert alert_id

    # child protection, the lead, reads it in its inbox; the school sees its own alert
    cp = await world.headers("cp-kazanlak.cp")
    alert = await client.get(f"/api/v1/alerts/{alert_id}", headers=cp)
    assert alert.status_code == 200, alert.text
    body = alert.json()
    assert (body["type"], body["child_id"], body["legal_basis"]) == ("left_education", child_id, "public_task")
    assert body["source_organisation_id"] == str(await world.organisation_id("school-koprinka"))
    assert body["details"] == {"left_on": "2027-01-29", "last_grade": 5}
    assert {r["organisation_id"]: r["lead"] for r in body["recipients"]} == {
        str(await world.organisation_id("mun-kazanlak")): True,
        str(await world.organisation_id("cp-kazanlak")): False,
    }
    inbox = await client.get("/api/v1/inbox", headers=cp)
    assert alert_id in {i["alert"]["id"] for i in inbox.json()["items"] if i.get("alert")}
    assert (await client.get(f"/api/v1/alerts/{alert_id}", headers=koprinka_admin)).status_code == 200
    # raised and released are both in the audit trail
    reasons = {e.reason for e in await _audit(world, child_id, decision="allow")}
    assert {"alert raised and routed", "pupil released to an unknown destination"} <= reasons
    # released to another school or abroad raises nothing
    other_child = await _register(client, world, serial=2)
    other = await _enrolled_at_koprinka(client, world, other_child)
    abroad = await _release(client, koprinka_admin, other["id"], "abroad")
    assert abroad.json()["alert_id"] is None


async def test_the_receiving_school_sees_nothing_from_before_its_enrolment(client, world, app):
    koprinka_staff = await world.headers("school-koprinka.staff")
    kazanlak_staff = await world.headers("school-kazanlak.staff")
    child_id = await _register(client, world)
    at_a = await _enrolled_at_koprinka(client, world, child_id)
    earlier = await raise_alert(client, koprinka_staff, child_id)

    kazanlak = str(await world.organisation_id("school-kazanlak"))
    released = await _release(client, await world.headers("school-koprinka.admin"), at_a["id"], "school",
                              school_id=kazanlak, date="2027-01-31")
    assert released.status_code == 200, released.text
    at_b = await _enrol(client, world, "school-kazanlak.admin", "school-kazanlak", child_id, TODAY.isoformat())
    assert at_b.status_code == 201, at_b.text
    own = await raise_alert(client, kazanlak_staff, child_id, details={"month": "2027-01", "unexcused_hours": 9})

    history = await client.get(f"/api/v1/children/{child_id}/history", headers=kazanlak_staff)
    assert history.status_code == 200, history.text
    assert {e["alert_id"] for e in history.json()["entries"]} == {own["id"]}
    assert_problem(await client.get(f"/api/v1/alerts/{earlier['id']}", headers=kazanlak_staff), 404)
    listed = await client.get("/api/v1/alerts", params={"child_id": child_id}, headers=kazanlak_staff)
    assert {a["id"] for a in listed.json()["items"]} == {own["id"]}
    # the sending school keeps what it raised itself, and nothing of the receiving school's
    theirs = await client.get(f"/api/v1/children/{child_id}/history", headers=koprinka_staff)
    assert theirs.status_code == 200, theirs.text
    assert {e["alert_id"] for e in theirs.json()["entries"]} == {earlier["id"]}


async def test_only_the_enrolling_schools_admin_releases_a_pupil(client, world):
    child_id = await _register(client, world)
    at_a = await _enrolled_at_koprinka(client, world, child_id)
    teacher = await _release(client, await world.headers("school-koprinka.staff"), at_a["id"], "abroad")
    assert_problem(teacher, 403)
    other = await _release(client, await world.headers("school-kazanlak.admin"), at_a["id"], "abroad")
    body = assert_problem(other, 404)
    missing = await _release(client, await world.headers("school-kazanlak.admin"), str(uuid.uuid4()), "abroad")
    assert {k: v for k, v in body.items() if k not in ("instance", "request_id")} == {
        k: v for k, v in assert_problem(missing, 404).items() if k not in ("instance", "request_id")
    }
    assert [(r.end_date, r.release_destination) for r in await _enrolment_rows(world, child_id)] == [(None, None)]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"destination": "school"}, "#/school_id"),
        ({"destination": "abroad", "school_id": "school-kazanlak"}, "#/school_id"),
        ({"destination": "school", "school_id": "cp-kazanlak"}, "#/school_id"),
        ({"destination": "school", "school_id": "school-koprinka"}, "#/school_id"),
        ({"destination": "abroad", "date": "2026-09-01"}, "#/date"),
        ({"destination": "moon"}, "#/destination"),
    ],
)
async def test_a_release_that_names_no_proper_destination_or_date_is_refused(client, world, body, pointer):
    child_id = await _register(client, world)
    at_a = await _enrolled_at_koprinka(client, world, child_id)
    if "school_id" in body:
        body = {**body, "school_id": str(await world.organisation_id(body["school_id"]))}
    response = await client.post(
        f"/api/v1/enrolments/{at_a['id']}/release", json=body, headers=await world.headers("school-koprinka.admin")
    )
    assert pointers(assert_problem(response, 422)) == [pointer]
    assert [r.release_destination for r in await _enrolment_rows(world, child_id)] == [None]


async def test_a_released_enrolment_is_neither_released_again_nor_extended(client, world):
    admin = await world.headers("school-koprinka.admin")
    child_id = await _register(client, world)
    at_a = await _enrolled_at_koprinka(client, world, child_id)
    assert (await _release(client, admin, at_a["id"], "abroad")).status_code == 200

    assert_problem(await _release(client, admin, at_a["id"], "unknown"), 409)
    extended = await client.patch(f"/api/v1/enrolments/{at_a['id']}", json={"end_date": "2027-06-30"}, headers=admin)
    assert_problem(extended, 409)
    assert [(r.end_date, r.release_destination) for r in await _enrolment_rows(world, child_id)] == [
        (TODAY, "abroad")
    ]
    assert len(await _audit(world, child_id, decision="deny")) == 2


async def test_a_school_cannot_take_back_by_a_later_end_date_a_pupil_enrolled_elsewhere_since(client, world):
    admin = await world.headers("school-koprinka.admin")
    child_id = await _register(client, world)
    at_a = await _enrolled_at_koprinka(client, world, child_id)
    ended = await client.patch(f"/api/v1/enrolments/{at_a['id']}", json={"end_date": "2027-01-15"}, headers=admin)
    assert ended.status_code == 200, ended.text
    # the pupil left Koprinka and is enrolled nowhere: another school may take it
    at_b = await _enrol(client, world, "school-kazanlak.admin", "school-kazanlak", child_id, "2027-01-20")
    assert at_b.status_code == 201, at_b.text

    extended = await client.patch(f"/api/v1/enrolments/{at_a['id']}", json={"end_date": "2027-06-30"}, headers=admin)
    assert_problem(extended, 409)
    assert_problem(await client.get(f"/api/v1/children/{child_id}", headers=admin), 404)


async def test_patching_an_end_date_ends_the_enrolment(client, world):
    admin = await world.headers("school-koprinka.admin")
    child_id = await _register(client, world)
    enrolment = await _enrolled_at_koprinka(client, world, child_id)

    ended = await client.patch(
        f"/api/v1/enrolments/{enrolment['id']}", json={"end_date": "2027-01-31"}, headers=admin
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["end_date"] == "2027-01-31"
    assert ended.json()["grade"] == 5

    # the pupil left: the school no longer reads the child
    assert_problem(await client.get(f"/api/v1/children/{child_id}", headers=admin), 404)


async def test_an_enrolment_ending_today_still_counts_today(client, world):
    admin = await world.headers("school-koprinka.admin")
    child_id = await _register(client, world)
    enrolment = await _enrolled_at_koprinka(client, world, child_id)
    ended = await client.patch(
        f"/api/v1/enrolments/{enrolment['id']}", json={"end_date": TODAY.isoformat()}, headers=admin
    )
    assert ended.status_code == 200, ended.text
    assert (await client.get(f"/api/v1/children/{child_id}", headers=admin)).status_code == 200


async def test_an_end_date_before_the_start_is_refused(client, world):
    admin = await world.headers("school-koprinka.admin")
    child_id = await _register(client, world)
    enrolment = await _enrolled_at_koprinka(client, world, child_id)

    response = await client.patch(
        f"/api/v1/enrolments/{enrolment['id']}", json={"end_date": "2026-09-14"}, headers=admin
    )
    assert pointers(assert_problem(response, 422)) == ["#/end_date"]
    assert (await _enrolment_rows(world, child_id))[0].end_date is None

    at_creation = await client.post(
        "/api/v1/enrolments",
        json={"child_id": child_id, "school_id": str(await world.organisation_id("school-koprinka")),
              "grade": 5, "start_date": "2027-03-01", "end_date": "2027-02-28"},
        headers=admin,
    )
    assert pointers(assert_problem(at_creation, 422)) == ["#/end_date"]


async def test_another_school_cannot_change_an_enrolment(client, world):
    child_id = await _register(client, world)
    enrolment = await _enrolled_at_koprinka(client, world, child_id)

    response = await client.patch(
        f"/api/v1/enrolments/{enrolment['id']}", json={"end_date": "2027-01-31"},
        headers=await world.headers("school-kazanlak.admin"),
    )
    assert_problem(response, 404)
    assert (await _enrolment_rows(world, child_id))[0].end_date is None

    unknown = await client.patch(
        f"/api/v1/enrolments/{uuid.uuid4()}", json={"end_date": "2027-01-31"},
        headers=await world.headers("school-kazanlak.admin"),
    )
    assert_problem(unknown, 404)
    assert {k: v for k, v in unknown.json().items() if k not in ("request_id", "instance")} == {
        k: v for k, v in response.json().items() if k not in ("request_id", "instance")
    }
