"""A school's administrator sends the whole roster from the console: the e-diary's Windows-1251
file registers the new pupils and matches the known ones, as through the API; a file with a bad
row changes nothing and the page lists the row in Bulgarian; only the administrator may send it."""

from __future__ import annotations

import datetime
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from service.children.models import Child, Enrolment
from service.demo.loader import DEFAULT_DEMO_FILE
from tests.conftest import World
from tests.web.helpers import csrf_of, error_rows, sign_in

ROSTER = DEFAULT_DEMO_FILE.with_name("roster-koprinka-2026.cp1251.csv").read_bytes()


@pytest.fixture(autouse=True)
def november_2026(app: Any) -> None:
    app.state.clock = lambda: datetime.date(2026, 11, 23)


async def _counts(world: World) -> tuple[int, int]:
    """(children, enrolments) in Obhvat."""
    async with world.database.transaction() as session:
        children = (await session.execute(select(func.count()).select_from(Child))).scalar_one()
        enrolments = (await session.execute(select(func.count()).select_from(Enrolment))).scalar_one()
        return int(children), int(enrolments)


async def _send(client: httpx.AsyncClient, content: bytes, start_date: str = "") -> httpx.Response:
    form = await client.get("/enrolments/roster")
    assert form.status_code == 200, form.text
    return await client.post(
        "/enrolments/roster/csv",
        data={"csrf_token": csrf_of(form), "start_date": start_date},
        files={"file": ("ученици.csv", content, "text/csv")},
    )


def _figure(page: httpx.Response, term: str) -> str:
    found = re.search(rf"{term}</dt><dd>([^<]*)<", page.text)
    assert found, term
    return found.group(1)


async def test_the_administrator_sends_the_windows_1251_roster_and_sees_what_it_did(
    client: httpx.AsyncClient, world: World
) -> None:
    start = await sign_in(client, "school-koprinka.admin")
    assert 'href="/enrolments/roster"' in start.text
    children, enrolments = await _counts(world)
    async with world.database.transaction() as session:
        ended_before = (await session.execute(
            select(func.count()).select_from(Enrolment).where(col(Enrolment.end_date).is_not(None))
        )).scalar_one()
    sent = await _send(client, ROSTER, start_date="2026-12-01")
    assert sent.status_code == 200, sent.text
    assert "Списъкът е приет" in sent.text
    assert _figure(sent, "Ученици във файла") == "12"
    assert _figure(sent, "Нови в Обхват, регистрирани") == "2"
    assert _figure(sent, r"Новозаписани във вашето училище \(включително новите в Обхват\)") == "2"
    assert _figure(sent, "Вече ваши ученици, разпознати") == "10"
    assert await _counts(world) == (children + 2, enrolments + 2)
    names = [tuple(line.split(";")[1:3]) for line in ROSTER.decode("cp1251").splitlines()[1:]]
    async with world.database.transaction() as session:
        rows = await session.execute(select(Child.given_name, Child.family_name))
        known = {(row.given_name, row.family_name) for row in rows}
        starts = set((await session.execute(
            select(Enrolment.start_date).order_by(col(Enrolment.created_at).desc()).limit(2)
        )).scalars())
    assert set(names) <= known, "a Cyrillic name was not read from the Windows-1251 file"
    assert starts == {datetime.date(2026, 12, 1)}
    # the same file again: every pupil matched, nothing new
    again = await _send(client, ROSTER)
    assert _figure(again, "Нови в Обхват, регистрирани") == "0"
    assert _figure(again, "Вече ваши ученици, разпознати") == "12"
    assert await _counts(world) == (children + 2, enrolments + 2)
    # a roster naming three of the ten pupils enrolled today (the two new ones start on 1 December):
    # the other seven are counted, and stay enrolled
    three = b"\r\n".join(ROSTER.splitlines()[:4]) + b"\r\n"
    partial = await _send(client, three)
    assert _figure(partial, "Ваши ученици, които липсват във файла") == "7"
    assert "нищо не е прекратено" in partial.text
    async with world.database.transaction() as session:
        ended = (await session.execute(
            select(func.count()).select_from(Enrolment).where(col(Enrolment.end_date).is_not(None))
        )).scalar_one()
    assert ended == ended_before, "a pupil the roster does not name was ended"


async def test_a_roster_with_a_bad_row_changes_nothing_and_names_the_row(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "school-koprinka.admin")
    before = await _counts(world)
    lines = [
        "ЕГН;Име;Фамилия;Пол;Клас",
        "1945082140;Даниел;Николов;м;1",  # good, new to Obhvat
        "1552049639;Цветелина;Асенова;ж;14",  # no grade 14
    ]
    sent = await _send(client, ("\r\n".join(lines) + "\r\n").encode("cp1251"))
    assert sent.status_code == 422
    assert "Нищо не е прието" in sent.text
    assert error_rows(sent) == [["2", "Клас", "Напишете цяло число от 0 (подготвителна група) до 12"]]
    assert await _counts(world) == before, "a good row was imported from a refused roster"


async def test_school_staff_may_not_send_the_roster(client: httpx.AsyncClient, world: World) -> None:
    start = await sign_in(client, "school-koprinka.staff")
    assert 'href="/enrolments/roster"' not in start.text
    refused = await client.get("/enrolments/roster")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    before = await _counts(world)
    sent = await client.post(
        "/enrolments/roster/csv", data={"csrf_token": csrf_of(start)},
        files={"file": ("a.csv", ROSTER, "text/csv")},
    )
    assert sent.status_code == 403
    assert await _counts(world) == before


async def test_police_may_not_open_the_roster_page(client: httpx.AsyncClient, world: World) -> None:
    start = await sign_in(client, "police-kazanlak.police")
    assert 'href="/enrolments/roster"' not in start.text
    assert (await client.get("/enrolments/roster")).status_code == 403


async def test_the_roster_is_refused_without_the_csrf_token(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "school-koprinka.admin")
    before = await _counts(world)
    sent = await client.post("/enrolments/roster/csv", files={"file": ("a.csv", ROSTER, "text/csv")})
    assert sent.status_code == 403
    assert await _counts(world) == before


async def test_a_roster_over_the_limit_gets_a_page_that_says_so(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "school-koprinka.admin")
    before = await _counts(world)
    row = "1945082140;Даниел;Николов;м;1\n"
    huge = ("ЕГН;Име;Фамилия;Пол;Клас\n" + row * (app.state.settings.max_csv_body_bytes // len(row))).encode("cp1251")
    sent = await _send(client, huge)
    assert sent.status_code == 413
    assert "Файлът е твърде голям" in sent.text
    assert await _counts(world) == before
