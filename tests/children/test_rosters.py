"""Rosters (DESIGN §3, §7): a school sends its whole roster, all or nothing; new pupils are
registered and enrolled, known ones matched; a pupil of another school that was not released
is a row error. After its roster, a school's absence batch no longer fails for its pupils."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from service.audit.models import AuditEvent
from service.children.models import Child, Enrolment
from tests.children.helpers import egn_for, lnch_for
from tests.core.helpers import assert_problem

TODAY = date(2027, 2, 1)
KOPRINKA = "38488"  # Копринка (SZR12), in the demo classifier
ANGEL = "1152035081"  # a Koprinka pupil of the demo, grade 9
KAZANLAK_PUPIL = "1552049639"  # a pupil of school-kazanlak, grade 5
NEW_1 = egn_for(date(2019, 5, 8), serial=214)
NEW_2 = egn_for(date(2018, 2, 19), serial=317)
CSV = {"Content-Type": "text/csv"}


@pytest.fixture(autouse=True)
def _frozen_clock(app):
    app.state.clock = lambda: TODAY


def _row(pin: str, given: str, family: str, sex: str, grade: int, **more: object) -> dict[str, object]:
    return {"pin": pin, "given_name": given, "family_name": family, "sex": sex, "grade": grade, **more}


ROSTER = [
    _row(ANGEL, "Ангел", "Ангелов", "male", 10),  # known, enrolled here: matched, grade 9 → 10
    _row(NEW_1, "Даниел", "Николов", "м", 1, settlement_code=KOPRINKA),
    _row(NEW_2, "Радина", "Колева", "ж", 2, date_of_birth="19.02.2018"),
]


async def _count(world, model, *where) -> int:
    async with world.database.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def _child(world, child_id: str) -> Child:
    async with world.database.transaction() as session:
        child = await session.get(Child, uuid.UUID(child_id))
    assert child is not None
    return child


async def _lookup(client, world, pin: str, username: str = "school-koprinka.staff"):
    return await client.post("/api/v1/children/lookup", json={"pin": pin}, headers=await world.headers(username))


async def test_a_roster_registers_new_pupils_enrols_them_and_matches_the_known_ones(client, world):
    children_before = await _count(world, Child)
    response = await client.post(
        "/api/v1/enrolments/batch", json={"rows": ROSTER}, headers=await world.headers("school-koprinka.admin")
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["rows"], result["registered"], result["enrolled"], result["matched"], result["grade_changed"]) == (
        3, 2, 2, 1, 1
    )
    assert result["school_id"] == str(await world.organisation_id("school-koprinka"))
    # the other demo pupils of Koprinka are not on this roster: listed, not ended
    assert len(result["not_in_roster"]) == 9
    assert await _count(world, Child) == children_before + 2

    teacher_sees = await _lookup(client, world, NEW_1)
    assert teacher_sees.status_code == 200, teacher_sees.text
    new = teacher_sees.json()
    assert (new["given_name"], new["sex"], new["date_of_birth"], new["settlement_code"], new["municipality_code"]) == (
        "Даниел", "male", "2019-05-08", KOPRINKA, "SZR12"
    )
    assert new["current_enrolment"]["grade"] == 1
    assert new["current_enrolment"]["start_date"] == TODAY.isoformat()
    angel = (await _lookup(client, world, ANGEL)).json()
    assert angel["current_enrolment"]["grade"] == 10

    # one audit event per pupil, each naming the child
    audited = await _count(world, AuditEvent, AuditEvent.action == "enrolment.roster", AuditEvent.decision == "allow")
    assert audited == 3


async def test_sending_the_same_roster_again_changes_nothing(client, world):
    admin = await world.headers("school-koprinka.admin")
    first = await client.post("/api/v1/enrolments/batch", json={"rows": ROSTER}, headers=admin)
    assert first.status_code == 200, first.text
    enrolments = await _count(world, Enrolment)
    again = await client.post("/api/v1/enrolments/batch", json={"rows": ROSTER}, headers=admin)
    assert again.status_code == 200, again.text
    assert (again.json()["registered"], again.json()["matched"], again.json()["grade_changed"]) == (0, 3, 0)
    assert await _count(world, Enrolment) == enrolments


async def test_a_pupil_of_another_school_not_released_is_a_row_error_and_nothing_is_applied(client, world):
    children_before, enrolments_before = await _count(world, Child), await _count(world, Enrolment)
    rows = [*ROSTER, _row(KAZANLAK_PUPIL, "Цветелина", "Асенова", "female", 5)]
    response = await client.post(
        "/api/v1/enrolments/batch", json={"rows": rows}, headers=await world.headers("school-koprinka.admin")
    )
    body = assert_problem(response, 422)
    assert body["errors"] == [{"row": 4, "field": "pin", "detail": body["errors"][0]["detail"]}]
    assert "not released" in body["errors"][0]["detail"]
    # names no school and no child
    assert "kazanlak" not in response.text.lower() and "Цветелина" not in response.text
    assert (await _count(world, Child), await _count(world, Enrolment)) == (children_before, enrolments_before)
    assert (await _lookup(client, world, ANGEL)).json()["current_enrolment"]["grade"] == 9
    refused = await _count(world, AuditEvent, AuditEvent.action == "enrolment.roster", AuditEvent.decision == "deny")
    assert refused == 1


async def test_a_pupil_released_to_the_school_is_enrolled_from_the_day_after_the_release(client, world):
    kazanlak_admin = await world.headers("school-kazanlak.admin")
    pupil = (await _lookup(client, world, KAZANLAK_PUPIL, "school-kazanlak.admin")).json()
    released = await client.post(
        f"/api/v1/enrolments/{pupil['current_enrolment']['id']}/release", headers=kazanlak_admin,
        json={"destination": "school", "school_id": str(await world.organisation_id("school-koprinka")),
              "date": "2027-01-20"},
    )
    assert released.status_code == 200, released.text
    response = await client.post(
        "/api/v1/enrolments/batch", headers=await world.headers("school-koprinka.admin"),
        json={"rows": [_row(KAZANLAK_PUPIL, "Цветелина", "Асенова", "female", 5)], "start_date": "2027-01-10"},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["registered"], response.json()["enrolled"]) == (0, 1)
    now = (await _lookup(client, world, KAZANLAK_PUPIL)).json()["current_enrolment"]
    assert now["school_id"] == str(await world.organisation_id("school-koprinka"))
    assert now["start_date"] == "2027-01-21"


async def test_after_its_roster_a_schools_absence_batch_is_accepted_for_its_new_pupils(client, world):
    teacher = await world.headers("school-koprinka.staff")
    figures = {"rows": [{"pin": NEW_1, "month": "2027-01", "unexcused_hours": 7, "excused_hours": 0}]}
    before = await client.post("/api/v1/absence-reports", json=figures, headers=teacher)
    assert_problem(before, 422)
    roster = await client.post(
        "/api/v1/enrolments/batch", json={"rows": ROSTER}, headers=await world.headers("school-koprinka.admin")
    )
    assert roster.status_code == 200, roster.text
    after = await client.post("/api/v1/absence-reports", json=figures, headers=teacher)
    assert after.status_code == 201, after.text
    assert len(after.json()["alerts_raised"]) == 1


async def test_a_roster_csv_in_windows_1251_with_bulgarian_headers(client, world):
    text = (
        "ЕГН;Име;Фамилия;Пол;Клас;Дата на раждане;ЕКАТТЕ;Адрес\r\n"
        f"{NEW_1};Даниел;Николов;м;1;08.05.2019;{KOPRINKA};ул. „Тунджа“ 3\r\n"
        f"{ANGEL};Ангел;Ангелов;м;9;;;\r\n"
    )
    response = await client.post(
        "/api/v1/enrolments/batch/csv", content=text.encode("cp1251"),
        headers=await world.headers("school-koprinka.admin", **CSV),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["registered"], response.json()["matched"], response.json()["grade_changed"]) == (1, 1, 0)
    child = await _child(world, (await _lookup(client, world, NEW_1)).json()["id"])
    assert (child.family_name, child.address) == ("Николов", "ул. „Тунджа“ 3")


async def test_a_roster_csv_in_utf8_with_bom_and_english_headers_from_the_school_e_diary(client, world):
    admin = await world.headers("platform.admin")
    created = await client.post("/api/v1/clients", headers=admin, json={
        "name": "Копринка e-diary", "organisation_id": str(await world.organisation_id("school-koprinka")),
        "roles": ["school_staff"]})
    assert created.status_code == 201, created.text
    login = await client.post("/api/v1/auth/token", data={
        "grant_type": "client_credentials", "client_id": created.json()["client_id"],
        "client_secret": created.json()["client_secret"]})
    assert login.status_code == 200, login.text
    lnch = lnch_for("100000003")
    text = (
        "pin,given_name,family_name,sex,grade,date_of_birth\n"
        f"{NEW_2},Radina,Koleva,female,2,\n"
        f"{lnch},Amira,Haddad,female,3,2018-06-30\n"
    )
    response = await client.post(
        "/api/v1/enrolments/batch/csv", content=b"\xef\xbb\xbf" + text.encode(),
        headers={"Authorization": f"Bearer {login.json()['access_token']}", **CSV},
    )
    assert response.status_code == 200, response.text
    assert response.json()["registered"] == 2


async def test_a_teacher_may_not_send_the_roster_and_other_agencies_are_refused(client, world):
    for username in ("school-koprinka.staff", "cp-kazanlak.cp", "mun-kazanlak.municipal"):
        response = await client.post(
            "/api/v1/enrolments/batch", json={"rows": ROSTER}, headers=await world.headers(username)
        )
        assert_problem(response, 403)
    assert (await _lookup(client, world, NEW_1)).status_code == 404


async def test_every_bad_row_is_named_with_its_field(client, world):
    rows = [
        _row("1234567890", "Даниел", "Николов", "м", 1),
        _row(NEW_1, "Dаниел", "Николов", "м", 1),  # a Latin D in a Cyrillic name
        _row(NEW_2, "Радина", "Колева", "X", 13, date_of_birth="2018-02-20", settlement_code="99999"),
        _row(ANGEL, "Ангел", "Ангелов", "м", 9),
        _row(ANGEL, "Ангел", "Ангелов", "м", 9),  # the same pupil as row 4
    ]
    response = await client.post(
        "/api/v1/enrolments/batch", json={"rows": rows}, headers=await world.headers("school-koprinka.admin")
    )
    body = assert_problem(response, 422)
    named = {(e["row"], e["field"]) for e in body["errors"]}
    assert named == {
        (1, "pin"), (2, "given_name"), (3, "sex"), (3, "grade"), (3, "date_of_birth"), (5, "pin"),
    }
    # an unknown settlement is found once the rows themselves are well formed
    rows = [_row(NEW_2, "Радина", "Колева", "ж", 2, settlement_code="99999")]
    response = await client.post(
        "/api/v1/enrolments/batch", json={"rows": rows}, headers=await world.headers("school-koprinka.admin")
    )
    assert [(e["row"], e["field"]) for e in assert_problem(response, 422)["errors"]] == [(1, "settlement_code")]


async def test_a_roster_csv_may_say_when_its_new_enrolments_start(client, world):
    text = f"ЕГН,Име,Фамилия,Пол,Клас\n{NEW_1},Даниел,Николов,м,1\n"
    response = await client.post(
        "/api/v1/enrolments/batch/csv?start_date=2026-09-15", content=text.encode(),
        headers=await world.headers("school-koprinka.admin", **CSV),
    )
    assert response.status_code == 200, response.text
    assert (await _lookup(client, world, NEW_1)).json()["current_enrolment"]["start_date"] == "2026-09-15"
    bad = await client.post(
        "/api/v1/enrolments/batch/csv?start_date=15.09.2026", content=text.encode(),
        headers=await world.headers("school-koprinka.admin", **CSV),
    )
    assert_problem(bad, 422)
