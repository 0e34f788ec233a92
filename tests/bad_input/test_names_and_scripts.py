"""Names in Cyrillic, Latin and mixed scripts.

Bulgarian children's names are Cyrillic; foreign children's are often Latin. Either is stored
exactly as sent (no transliteration, no Unicode normalisation). What cannot be a name is one
word typed in two alphabets: a Latin "a" or "o" inside a Cyrillic name looks the same on screen,
but the child is then not found by name and two agencies' records of one child read apart. Such
a name, and one with invisible characters (zero-width or direction marks, controls), is a 422
pointing at the field, and nothing is written. The same look-alike trick on a personal number
(full-width or Arabic-Indic digits) is refused too.
"""

from __future__ import annotations

import datetime
import unicodedata
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from service.children.models import Child
from tests.bad_input.helpers import assert_clear_problem, assert_nothing_written, error_pointers, snapshot
from tests.children.helpers import egn_for

BORN = datetime.date(2016, 5, 14)
PIN = egn_for(BORN, serial=731)


def child(**names: str) -> dict[str, Any]:
    return {"pin": PIN, "given_name": "Йоана", "family_name": "Стоянова", "date_of_birth": BORN.isoformat(),
            "sex": "female", "municipality_code": "SZR12", **names}


ACCEPTED = [
    pytest.param("Йоана-Мария", "Стоянова", id="cyrillic-hyphenated"),
    pytest.param("Ѝвайло", "Щърбанова-Хаджиева", id="cyrillic-rare-letters"),
    pytest.param("Юлиян Ясен", "Дяков", id="cyrillic-two-given-names"),
    pytest.param("Ахмед", "Мехмедов", id="cyrillic-turkish-name"),
    pytest.param("Д’Артанян", "О’Нийл", id="cyrillic-apostrophe"),
    pytest.param("Jean-Pierre", "Dubois", id="latin"),
    pytest.param("Zoë", "Müller-Łukasik", id="latin-diacritics"),
    pytest.param("Анна Maria", "García Márquez", id="one-alphabet-per-word"),
    pytest.param("Νίκος", "Παπαδόπουλος", id="greek"),
    pytest.param(unicodedata.normalize("NFD", "Йордан"), unicodedata.normalize("NFD", "Йорданов"),
                 id="cyrillic-decomposed-й-kept-as-sent"),
]

REFUSED = [
    # one word in two alphabets (look-alikes)
    pytest.param({"given_name": "Мaрия"}, "#/given_name", id="latin-a-in-cyrillic-given-name"),
    pytest.param({"family_name": "Ивaнoв"}, "#/family_name", id="latin-a-and-o-in-cyrillic-family-name"),
    pytest.param({"family_name": "Петрова-Ивaнова"}, "#/family_name", id="latin-a-in-second-half"),
    pytest.param({"given_name": "XРИСТО"}, "#/given_name", id="latin-capital-x-in-cyrillic-capitals"),
    pytest.param({"given_name": "Ivаn"}, "#/given_name", id="cyrillic-а-in-latin-name"),
    pytest.param({"given_name": "Мαрия"}, "#/given_name", id="greek-alpha-in-cyrillic"),
    pytest.param({"given_name": "Анна Мaрия"}, "#/given_name", id="second-word-mixed"),
    pytest.param({"given_name": unicodedata.normalize("NFD", "Й") + "o"}, "#/given_name",
                 id="latin-o-after-a-combining-breve"),
    # invisible characters
    pytest.param({"given_name": "Йо\u200bана"}, "#/given_name", id="zero-width-space"),
    pytest.param({"given_name": "Йо\u200dана"}, "#/given_name", id="zero-width-joiner"),
    pytest.param({"family_name": "\u202eавонаятС"}, "#/family_name", id="right-to-left-override"),
    pytest.param({"family_name": "Стоя\u00adнова"}, "#/family_name", id="soft-hyphen"),
    pytest.param({"given_name": "Йоана\tМария"}, "#/given_name", id="tab"),
    pytest.param({"given_name": "Йоана\nМария"}, "#/given_name", id="new-line"),
    pytest.param({"given_name": "Йоана\u2028Мария"}, "#/given_name", id="line-separator"),
    pytest.param({"given_name": "Йоана\x1b[31m"}, "#/given_name", id="terminal-escape"),
    # look-alike digits in the personal number
    pytest.param({"pin": PIN.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})}, "#/pin",
                 id="pin-in-full-width-digits"),
    pytest.param({"pin": PIN.translate({ord(d): ord(d) - ord("0") + 0x0660 for d in "0123456789"})}, "#/pin",
                 id="pin-in-arabic-indic-digits"),
    pytest.param({"pin": PIN[:-1] + "О"}, "#/pin", id="pin-with-cyrillic-o-for-a-zero"),
]


@pytest.mark.parametrize(("given_name", "family_name"), ACCEPTED)
async def test_a_name_in_one_alphabet_per_word_is_stored_exactly_as_sent(
    client, world, database, given_name, family_name
):
    cp = await world.headers("cp-kazanlak.cp")

    response = await client.post("/api/v1/children", json=child(given_name=given_name, family_name=family_name),
                                 headers=cp)

    assert response.status_code == 201, response.text
    assert (response.json()["given_name"], response.json()["family_name"]) == (given_name, family_name)
    async with database.transaction() as session:
        stored = await session.get(Child, uuid.UUID(response.json()["id"]))
    assert stored is not None
    assert (stored.given_name, stored.family_name) == (given_name, family_name)  # code point for code point


@pytest.mark.parametrize(("change", "pointer"), REFUSED)
async def test_a_mixed_script_or_invisible_name_is_a_422_naming_the_field(client, world, database, change, pointer):
    cp = await world.headers("cp-kazanlak.cp")
    before = await snapshot(database)

    response = await client.post("/api/v1/children", json=child(**change), headers=cp)

    body = assert_clear_problem(response, 422)
    assert error_pointers(body) == [pointer], body
    await assert_nothing_written(database, before)
    async with database.transaction() as session:
        assert (await session.execute(select(Child).where(Child.family_name == "Стоянова"))).first() is None


async def test_a_look_alike_guardian_name_is_a_422_naming_the_field(client, world, database):
    cp = await world.headers("cp-kazanlak.cp")
    before = await snapshot(database)

    response = await client.post(
        f"/api/v1/children/{uuid.uuid4()}/consents",
        json={"guardian_name": "Мaрия Ангелова", "guardian_relationship": "mother",
              "purposes": ["support_services"], "recipient_ids": [str(uuid.uuid4())],
              "valid_from": "2026-11-01", "valid_until": "2027-11-01", "evidence": "Дело 12/2026"},
        headers=cp,
    )

    body = assert_clear_problem(response, 422)
    assert error_pointers(body) == ["#/guardian_name"], body
    await assert_nothing_written(database, before)


async def test_free_text_may_mix_alphabets(client, world):
    """Only names are held to one alphabet per word: a note quotes what people wrote."""
    school = await world.headers("school-koprinka.staff")
    found = await client.post("/api/v1/children/lookup", json={"pin": "1152035081"}, headers=school)
    note = "Майката писа в Viber: „детето е в Germany“ — 3-ти клас"
    response = await client.post(
        "/api/v1/alerts",
        json={"child_id": found.json()["id"], "type": "unexcused_absences",
              "details": {"month": "2026-10", "unexcused_hours": 12}, "note": note},
        headers=school,
    )
    assert response.status_code == 201, response.text
    assert response.json()["note"] == note
