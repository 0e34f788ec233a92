"""Enrolments (DESIGN §3, §7): a school administrator enrols pupils at their own school, a
transfer ends the previous school's enrolment, and a school sees only its current pupils."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from service.children.models import Enrolment
from tests.children.helpers import egn_for
from tests.core.helpers import assert_problem, pointers

TODAY = date(2027, 2, 1)
SCHOOL_YEAR_START = "2026-09-15"


@pytest.fixture(autouse=True)
def _frozen_clock(app):
    app.state.clock = lambda: TODAY


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


async def test_an_enrolment_at_another_school_is_a_transfer(client, world):
    koprinka_admin = await world.headers("school-koprinka.admin")
    kazanlak_admin = await world.headers("school-kazanlak.admin")
    child_id = await _register(client, world)
    at_a = await _enrol(client, world, "school-koprinka.admin", "school-koprinka", child_id, SCHOOL_YEAR_START)
    assert at_a.status_code == 201, at_a.text

    # school B cannot see the pupil before the transfer
    assert_problem(await client.get(f"/api/v1/children/{child_id}", headers=kazanlak_admin), 404)

    at_b = await _enrol(client, world, "school-kazanlak.admin", "school-kazanlak", child_id, TODAY.isoformat(), grade=6)
    assert at_b.status_code == 201, at_b.text

    rows = {str(row.id): row for row in await _enrolment_rows(world, child_id)}
    assert rows[at_a.json()["id"]].end_date == date(2027, 1, 31), "the old enrolment ends the day before"
    assert rows[at_b.json()["id"]].end_date is None

    assert_problem(await client.get(f"/api/v1/children/{child_id}", headers=koprinka_admin), 404)
    assert_problem(
        await client.get(f"/api/v1/children/{child_id}", headers=await world.headers("school-koprinka.staff")), 404
    )
    now_at_b = await client.get(f"/api/v1/children/{child_id}", headers=kazanlak_admin)
    assert now_at_b.status_code == 200, now_at_b.text
    assert now_at_b.json()["current_enrolment"]["school_id"] == str(await world.organisation_id("school-kazanlak"))
    assert now_at_b.json()["current_enrolment"]["grade"] == 6


async def test_a_transfer_dated_ahead_keeps_the_pupil_at_the_old_school_until_then(client, world, app):
    koprinka_admin = await world.headers("school-koprinka.admin")
    kazanlak_admin = await world.headers("school-kazanlak.admin")
    child_id = await _register(client, world)
    await _enrol(client, world, "school-koprinka.admin", "school-koprinka", child_id, SCHOOL_YEAR_START)
    at_b = await _enrol(client, world, "school-kazanlak.admin", "school-kazanlak", child_id, "2027-02-10")
    assert at_b.status_code == 201, at_b.text

    still_at_a = await client.get(f"/api/v1/children/{child_id}", headers=koprinka_admin)
    assert still_at_a.status_code == 200, still_at_a.text
    assert_problem(await client.get(f"/api/v1/children/{child_id}", headers=kazanlak_admin), 404)

    app.state.clock = lambda: date(2027, 2, 10)
    assert_problem(await client.get(f"/api/v1/children/{child_id}", headers=koprinka_admin), 404)
    moved = await client.get(f"/api/v1/children/{child_id}", headers=kazanlak_admin)
    assert moved.status_code == 200, moved.text


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
