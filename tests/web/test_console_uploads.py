"""A teacher sends the month's absences from the console: the e-diary's files import as through
the API; a file with a bad row imports nothing and the page lists every bad row (row, column,
what to correct, in Bulgarian); a file over the limit gets a page that says so."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from service.absences.models import AbsenceReport
from service.demo.loader import DEFAULT_DEMO_FILE
from tests.conftest import World, asgi_client
from tests.web.helpers import csrf_of, error_rows, sign_in

SAMPLES = Path(DEFAULT_DEMO_FILE).parent
KOPRINKA = (SAMPLES / "absences-koprinka-2026-10.cp1251.csv").read_bytes()
HEADER = "ЕГН;Име;Месец;Неизвинени часове;Извинени часове\n"


@pytest.fixture(autouse=True)
def november_2026(app: Any) -> None:
    app.state.clock = lambda: datetime.date(2026, 11, 23)


async def _reports(world: World) -> int:
    async with world.database.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(AbsenceReport))).scalar_one())


async def _send(client: httpx.AsyncClient, content: bytes, name: str = "отсъствия.csv") -> httpx.Response:
    form = await client.get("/absences")
    assert form.status_code == 200, form.text
    return await client.post(
        "/absences/csv", data={"csrf_token": csrf_of(form)}, files={"file": (name, content, "text/csv")}
    )


async def test_a_teacher_sends_the_windows_1251_file_and_sees_what_it_raised(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "school-koprinka.staff")
    sent = await _send(client, KOPRINKA)
    assert sent.status_code == 303, sent.text
    result = await client.get(sent.headers["location"])
    assert result.status_code == 200
    assert "Файлът е приет" in result.text
    assert re.search(r"Приети редове</dt><dd>10<", result.text)
    assert result.text.count('href="/alerts/') == 4
    assert await _reports(world) == 10


async def test_a_file_with_bad_rows_imports_nothing_and_lists_each_row_in_bulgarian(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "school-koprinka.staff")
    rows = [
        "1152035081;Ангел Ангелов;2026-10;9;4",  # good
        "1547262167;Йордан Сашев;октомври;9;2",  # month in words
        "1152035082;Грешка Грешкова;2026-10;3;0",  # check digit wrong
        "1052068754;Симона Йорданова;2026-10;много;2",  # hours in words
    ]
    sent = await _send(client, (HEADER + "\n".join(rows) + "\n").encode("cp1251"))
    assert sent.status_code == 422
    assert "Нищо не е прието" in sent.text
    assert error_rows(sent) == [
        ["2", "Месец", "Напишете месеца във вида ГГГГ-ММ, например 2026-10"],
        ["3", "ЕГН или ЛНЧ", "Това не е валидно ЕГН или ЛНЧ: последната цифра не съвпада"],
        ["4", "Неизвинени часове", "Напишете цяло число от 0 до 300"],
    ]
    assert "<caption>" in sent.text and 'scope="col">Ред<' in sent.text
    assert await _reports(world) == 0, "a good row was imported from a refused file"


async def test_a_utf8_file_with_a_pupil_of_another_school_imports_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "school-lukovit-1.staff")
    lines = "\ufeffpin,month,unexcused_hours,excused_hours\n1741096847,2026-10,22,4\n1152035081,2026-10,1,0\n"
    sent = await _send(client, lines.encode("utf-8"))
    assert sent.status_code == 422
    assert error_rows(sent) == [["2", "ЕГН или ЛНЧ", "Във вашето училище няма записан ученик с това ЕГН или ЛНЧ"]]
    assert await _reports(world) == 0


async def test_a_file_without_the_needed_columns_is_explained(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "school-koprinka.staff")
    sent = await _send(client, "Име;Клас\nАнгел;5\n".encode("cp1251"))
    assert sent.status_code == 422
    rows = error_rows(sent)
    assert rows[0][0] == "целия файл"
    assert rows[0][2].startswith("Няма колона „ЕГН или ЛНЧ“")


async def test_no_file_chosen_is_an_error_on_the_field(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "school-koprinka.staff")
    form = await client.get("/absences")
    sent = await client.post("/absences/csv", data={"csrf_token": csrf_of(form)})
    assert sent.status_code == 422
    assert 'href="#file"' in sent.text and 'aria-invalid="true"' in sent.text


async def test_a_file_over_the_limit_gets_a_page_that_says_so(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "school-koprinka.staff")
    huge = (HEADER + "1152035081;А;2026-10;9;4\n" * (app.state.settings.max_csv_body_bytes // 20)).encode("cp1251")
    sent = await _send(client, huge)
    assert sent.status_code == 413
    assert sent.headers["content-type"].startswith("text/html")
    assert "Файлът е твърде голям" in sent.text and "10 MB" in sent.text
    assert await _reports(world) == 0


async def test_the_upload_is_refused_without_the_csrf_token(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "school-koprinka.staff")
    sent = await client.post("/absences/csv", files={"file": ("a.csv", KOPRINKA, "text/csv")})
    assert sent.status_code == 403
    assert await _reports(world) == 0


async def test_an_officer_may_not_send_absences(client: httpx.AsyncClient, world: World) -> None:
    start = await sign_in(client, "cp-kazanlak.cp")
    assert 'href="/absences"' not in start.text
    assert (await client.get("/absences")).status_code == 403
    sent = await client.post(
        "/absences/csv", data={"csrf_token": csrf_of(start)}, files={"file": ("a.csv", KOPRINKA, "text/csv")}
    )
    assert sent.status_code == 403
    assert await _reports(world) == 0


async def test_another_school_cannot_open_a_batch_result(client: httpx.AsyncClient, world: World, app: Any) -> None:
    await sign_in(client, "school-koprinka.staff")
    sent = await _send(client, KOPRINKA)
    async with asgi_client(app) as other:
        await sign_in(other, "school-lukovit-1.staff")
        assert (await other.get(sent.headers["location"])).status_code == 404


async def test_an_oversized_form_anywhere_in_the_console_is_refused_unread(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    start = await sign_in(client, "school-koprinka.staff")
    padding = "x" * (app.state.settings.max_body_bytes + 1)
    for path in ("/children/search", "/login"):
        answer = await client.post(path, data={"csrf_token": csrf_of(start), "pin": padding})
        assert answer.status_code == 413, (path, answer.status_code)
    headers = {**await world.headers("school-koprinka.staff"), "Content-Type": "application/json"}
    api = await client.post("/api/v1/children/lookup", content=padding.encode(), headers=headers)
    assert api.status_code == 413 and api.headers["content-type"] == "application/problem+json"
