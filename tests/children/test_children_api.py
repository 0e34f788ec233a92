"""Registering, matching and reading children over HTTP (DESIGN §3, §7): one child per PIN, the
PIN only ever as a keyed hash, and identity shown only to related organisations."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import date

from sqlalchemy import select

import service.models  # noqa: F401 - every table in the metadata
from service.children.models import Child
from service.core.database import metadata
from tests.children.helpers import egn_for, lnch_for, spaced
from tests.core.helpers import assert_problem, pointers

KOPRINKA_PUPIL_PIN = "1152035081"  # Ангел Ангелов, enrolled at school-koprinka
NEW_PIN = egn_for(date(2016, 5, 14), serial=731)


def _new_child(pin: str = NEW_PIN, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "pin": pin,
        "given_name": "Йоана-Мария",
        "family_name": "Стоянова",
        "date_of_birth": "2016-05-14",
        "sex": "female",
        "municipality_code": "SZR12",
    }
    body.update(overrides)
    return body


async def test_registering_a_new_child_answers_201_with_its_identity(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    response = await client.post("/api/v1/children", json=_new_child(), headers=cp)
    assert response.status_code == 201, response.text
    child = response.json()
    uuid.UUID(child["id"])
    assert child["given_name"] == "Йоана-Мария"
    assert child["family_name"] == "Стоянова"
    assert child["date_of_birth"] == "2016-05-14"
    assert child["sex"] == "female"
    assert child["municipality_code"] == "SZR12"
    assert child["current_enrolment"] is None


async def test_registering_the_same_pin_again_returns_the_existing_child_with_200(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    before = await _child_count(world)
    first = await client.post("/api/v1/children", json=_new_child(), headers=cp)
    assert first.status_code == 201, first.text

    again = await client.post("/api/v1/children", json=_new_child(), headers=cp)
    assert again.status_code == 200, again.text
    # a match answers the id and nothing else, even to a registrant related to the child
    assert again.json() == {"id": first.json()["id"]}

    typed_with_spaces = await client.post("/api/v1/children", json=_new_child(pin=spaced(NEW_PIN)), headers=cp)
    assert typed_with_spaces.status_code == 200, typed_with_spaces.text
    assert typed_with_spaces.json()["id"] == first.json()["id"]

    # a second registration does not overwrite the child with other names
    renamed = await client.post(
        "/api/v1/children", json=_new_child(given_name="Друго", family_name="Име"), headers=cp
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {"id": first.json()["id"]}
    read = await client.get(f"/api/v1/children/{first.json()['id']}", headers=cp)
    assert read.json()["given_name"] == "Йоана-Мария"

    assert await _child_count(world) == before + 1


async def _child_count(world) -> int:
    async with world.database.transaction() as session:
        return len((await session.execute(select(Child.id))).scalars().all())


async def test_registering_a_known_demo_pupil_by_pin_matches_the_existing_child(client, world):
    teacher = await world.headers("school-koprinka.staff")
    known = await client.post("/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PIN}, headers=teacher)
    assert known.status_code == 200, known.text

    registered = await client.post(
        "/api/v1/children",
        json=_new_child(pin=KOPRINKA_PUPIL_PIN, given_name="Ангел", family_name="Ангелов",
                        date_of_birth="2011-12-03", sex="male"),
        headers=await world.headers("school-koprinka.admin"),
    )
    assert registered.status_code == 200, registered.text
    assert registered.json()["id"] == known.json()["id"]


async def test_no_answer_about_a_child_contains_its_pin(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    answers = [
        await client.post("/api/v1/children", json=_new_child(), headers=cp),
        await client.post("/api/v1/children", json=_new_child(pin=spaced(NEW_PIN)), headers=cp),
    ]
    child_id = answers[0].json()["id"]
    answers.append(await client.get(f"/api/v1/children/{child_id}", headers=cp))
    answers.append(await client.post("/api/v1/children/lookup", json={"pin": NEW_PIN}, headers=cp))
    for response in answers:
        assert response.status_code in (200, 201), response.text
        assert "pin" not in response.json()
        assert "pin_hash" not in response.json()
        assert NEW_PIN not in response.text
        assert NEW_PIN not in str(response.headers)


async def test_the_pin_is_stored_only_as_a_keyed_hash(client, world, app):
    cp = await world.headers("cp-kazanlak.cp")
    response = await client.post("/api/v1/children", json=_new_child(pin=spaced(NEW_PIN)), headers=cp)
    assert response.status_code == 201, response.text

    async with world.database.transaction() as session:
        child = (await session.execute(select(Child).where(Child.id == uuid.UUID(response.json()["id"])))).scalar_one()
        stored = child.pin_hash
        assert stored is not None and len(stored) == 64
        int(stored, 16)  # hex
        assert stored != NEW_PIN
        assert NEW_PIN not in stored
        assert stored != hashlib.sha256(NEW_PIN.encode()).hexdigest(), "an unkeyed hash of a PIN can be brute-forced"
        assert stored != hashlib.sha256(spaced(NEW_PIN).encode()).hexdigest()
        # keyed with the service's secret, over the normalised number
        assert stored == hmac.new(app.state.pin_secret, NEW_PIN.encode(), hashlib.sha256).hexdigest()

        # and the number appears in clear in no column of any table
        for table in metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for value in row:
                    assert NEW_PIN not in str(value), f"PIN in clear in table {table.name}"


async def test_a_date_of_birth_that_disagrees_with_the_egn_is_refused(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    response = await client.post("/api/v1/children", json=_new_child(date_of_birth="2016-05-15"), headers=cp)
    body = assert_problem(response, 422)
    assert pointers(body) == ["#/date_of_birth"]
    # nothing was registered
    lookup = await client.post("/api/v1/children/lookup", json={"pin": NEW_PIN}, headers=cp)
    assert_problem(lookup, 404)


async def test_the_date_of_birth_may_be_left_out_for_an_egn_and_is_read_from_it(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    body = _new_child()
    del body["date_of_birth"]
    response = await client.post("/api/v1/children", json=body, headers=cp)
    assert response.status_code == 201, response.text
    assert response.json()["date_of_birth"] == "2016-05-14"


async def test_an_invalid_pin_is_refused_with_a_pointer_to_the_pin(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    wrong_check = NEW_PIN[:9] + str((int(NEW_PIN[9]) + 1) % 10)
    for pin in (wrong_check, "12345", "1234567890123456", "16451473Z1"):
        response = await client.post("/api/v1/children", json=_new_child(pin=pin), headers=cp)
        body = assert_problem(response, 422)
        assert pointers(body) == ["#/pin"], (pin, body)
        assert pin not in response.text, "the answer must not repeat the number"
    lookup = await client.post("/api/v1/children/lookup", json={"pin": wrong_check}, headers=cp)
    assert pointers(assert_problem(lookup, 422)) == ["#/pin"]


async def test_a_foreign_child_is_registered_by_lnch_with_a_date_of_birth(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    lnch = lnch_for("123456789")
    without_birth = _new_child(pin=lnch)
    del without_birth["date_of_birth"]
    refused = await client.post("/api/v1/children", json=without_birth, headers=cp)
    assert pointers(assert_problem(refused, 422)) == ["#/date_of_birth"]

    registered = await client.post(
        "/api/v1/children", json=_new_child(pin=lnch, date_of_birth="2015-03-02", given_name="Olena"), headers=cp
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["date_of_birth"] == "2015-03-02"
    again = await client.post("/api/v1/children/lookup", json={"pin": spaced(lnch)}, headers=cp)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == registered.json()["id"]


async def test_a_date_of_birth_in_the_future_is_refused(client, world, app):
    app.state.clock = lambda: date(2026, 11, 23)
    cp = await world.headers("cp-kazanlak.cp")
    pin = egn_for(date(2026, 12, 1), serial=10)
    response = await client.post("/api/v1/children", json=_new_child(pin=pin, date_of_birth=None), headers=cp)
    assert pointers(assert_problem(response, 422)) == ["#/date_of_birth"]


async def test_cyrillic_names_round_trip(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    names = {"given_name": "Щилияна-Ъгълка", "family_name": "Ючерова-Ьорданова"}
    created = await client.post("/api/v1/children", json=_new_child(**names), headers=cp)
    assert created.status_code == 201, created.text
    read = await client.get(f"/api/v1/children/{created.json()['id']}", headers=cp)
    assert read.status_code == 200, read.text
    assert {k: read.json()[k] for k in names} == names
    assert read.headers["content-type"].startswith("application/json")


async def test_school_staff_may_not_register_children(client, world):
    response = await client.post(
        "/api/v1/children", json=_new_child(), headers=await world.headers("school-koprinka.staff")
    )
    assert_problem(response, 403)


async def test_a_school_finds_its_own_pupil_by_pin_but_not_another_schools(client, world):
    koprinka = await client.post(
        "/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PIN},
        headers=await world.headers("school-koprinka.staff"),
    )
    assert koprinka.status_code == 200, koprinka.text
    assert koprinka.json()["given_name"] == "Ангел"
    assert koprinka.json()["current_enrolment"]["school_id"] == str(await world.organisation_id("school-koprinka"))

    for outsider in ("school-kazanlak.staff", "school-lukovit-1.admin"):
        response = await client.post(
            "/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PIN}, headers=await world.headers(outsider)
        )
        body = assert_problem(response, 404)
        assert "Ангел" not in response.text
        assert koprinka.json()["id"] not in response.text

    # an unrelated child and an unknown number look the same from outside
    unknown = await client.post(
        "/api/v1/children/lookup", json={"pin": NEW_PIN}, headers=await world.headers("school-kazanlak.staff")
    )
    unknown_body = assert_problem(unknown, 404)
    assert {k: v for k, v in unknown_body.items() if k != "request_id"} == {
        k: v for k, v in body.items() if k != "request_id"
    }


async def test_a_related_school_reads_its_pupil_and_an_unrelated_school_gets_404(client, world):
    found = await client.post(
        "/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PIN},
        headers=await world.headers("school-koprinka.staff"),
    )
    child_id = found.json()["id"]
    own = await client.get(f"/api/v1/children/{child_id}", headers=await world.headers("school-koprinka.staff"))
    assert own.status_code == 200, own.text
    other = await client.get(f"/api/v1/children/{child_id}", headers=await world.headers("school-kazanlak.staff"))
    assert_problem(other, 404)


async def test_reading_an_unknown_child_is_a_404_problem(client, world):
    response = await client.get(f"/api/v1/children/{uuid.uuid4()}", headers=await world.headers("cp-kazanlak.cp"))
    assert_problem(response, 404)


async def test_a_child_id_that_is_not_a_uuid_is_a_422_problem(client, world):
    response = await client.get("/api/v1/children/1152035081", headers=await world.headers("cp-kazanlak.cp"))
    body = assert_problem(response, 422)
    assert any(e.get("parameter") == "child_id" for e in body["errors"]), body
