"""The regional education officer sends the list of children to find from the console: the same
import as `POST /api/v1/worklists/csv` (one alert per child and school year, all or nothing); a
list with bad rows imports nothing and the page names each row in Bulgarian; a file that cannot
be read, or is too large, says so; only those the API lets import a list may open the page. The
menu offers each person only the reports the service would show them."""

from __future__ import annotations

import datetime
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from service.alerts.models import Alert
from service.children.models import Child
from service.demo.loader import KAZANLAK_WORKLIST
from tests.conftest import World
from tests.mechanism.helpers import COORDINATOR, OFFICER
from tests.web.helpers import csrf_of, error_rows, sign_in

LIST = KAZANLAK_WORKLIST.read_text(encoding="utf-8")
HEADER = LIST.splitlines()[0]


@pytest.fixture(autouse=True)
def november_2026(app: Any) -> None:
    app.state.clock = lambda: datetime.date(2026, 11, 23)


async def _counts(world: World) -> tuple[int, int]:
    """(children, not_enrolled alerts) in Obhvat."""
    async with world.database.transaction() as session:
        children = (await session.execute(select(func.count()).select_from(Child))).scalar_one()
        alerts = (await session.execute(
            select(func.count()).select_from(Alert).where(col(Alert.type) == "not_enrolled")
        )).scalar_one()
        return int(children), int(alerts)


async def _send(client: httpx.AsyncClient, content: bytes, school_year: str = "") -> httpx.Response:
    form = await client.get("/worklists")
    assert form.status_code == 200, form.text
    return await client.post(
        "/worklists/csv",
        data={"csrf_token": csrf_of(form), "school_year": school_year},
        files={"file": ("деца-за-издирване.csv", content, "text/csv")},
    )


def _figure(page: httpx.Response, term: str) -> str:
    found = re.search(rf"{term}</dt><dd>([^<]*)<", page.text)
    assert found, term
    return found.group(1)


def _areas(page: httpx.Response) -> list[list[str]]:
    table = page.text.split('id="areas"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


async def test_the_education_officer_sends_the_windows_1251_list_and_sees_what_it_made(
    client: httpx.AsyncClient, world: World
) -> None:
    start = await sign_in(client, OFFICER)
    assert 'href="/worklists"' in start.text
    children, alerts = await _counts(world)
    sent = await _send(client, LIST.encode("cp1251"))
    assert sent.status_code == 200, sent.text
    assert "Списъкът на децата за издирване е приет" in sent.text
    assert _figure(sent, "Учебна година") == "2026/2027"
    assert _figure(sent, "Деца във файла") == "7"
    assert _figure(sent, "Подадени нови сигнали") == "7"
    assert _figure(sent, "Деца с ЕГН, нови в Обхват, регистрирани") == "5"
    assert _figure(sent, "Деца без известно ЕГН, регистрирани по имена") == "2"
    assert _areas(sent) == [["SZR12", "7", "7", "Екип за обхват – община Казанлък"]]
    assert await _counts(world) == (children + 7, alerts + 7)
    async with world.database.transaction() as session:
        names = set((await session.execute(select(Child.given_name).where(col(Child.pin_hash).is_(None)))).scalars())
    assert {"Мирела", "Исмаил"} <= names, "a Cyrillic name was not read from the Windows-1251 file"
    # the same list again: nothing new, nothing duplicated
    again = await _send(client, LIST.encode("utf-8"))
    assert (_figure(again, "Подадени нови сигнали"), _figure(again, "Вече в списъка, без промяна")) == ("0", "7")
    assert _areas(again) == [["SZR12", "7", "0", "Екип за обхват – община Казанлък"]]
    assert await _counts(world) == (children + 7, alerts + 7)


async def test_a_list_outside_every_teams_area_says_no_team_covers_it(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, OFFICER)
    # Казанлък's team covers six settlements; 99999 is none of them
    sent = await _send(client, f"{HEADER}\n;Калина;Петрова;2016;SZR12;99999;не е записан;4\n".encode())
    assert sent.status_code == 200, sent.text
    assert _areas(sent) == [["SZR12", "1", "1", "Още няма екип за тези населени места"]]


async def test_a_list_with_bad_rows_imports_nothing_and_names_each_row_in_bulgarian(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, OFFICER)
    before = await _counts(world)
    lines = [
        HEADER,
        "1543114120;Стефан;Колев;2015;SZR12;35167;не е записан;5",  # good
        "1647024331;Дениз;Юсеинова;2016;Казанлък;38488;не е записан;4",  # a name, not a code
        "1543114121;Петър;Илиев;2013;SZR12;83185;напуснал;7",  # check digit
        ";Мирела;;2016;SZR12;27499;не е записан;4",  # no ЕГН and no family name
        "1543114120;Стефан;Колев;2015;SZR12;35167;не е записан;5",  # listed twice
        "1850056244;Айше;Мехмедова;2018;SZR12;16691;забравен;1",  # no such reason
        "1245307359;Виктор;Стоянов;2012;LOV19;44327;не е записан;8",  # not the region's
    ]
    sent = await _send(client, ("\r\n".join(lines) + "\r\n").encode("cp1251"))
    assert sent.status_code == 422
    assert "Нищо не е прието" in sent.text and 'aria-invalid="true"' in sent.text
    assert error_rows(sent) == [
        ["2", "Община", "Напишете кода на общината, например SZR12"],
        ["3", "ЕГН или ЛНЧ", "Това не е валидно ЕГН или ЛНЧ: последната цифра не съвпада"],
        ["4", "Фамилия", "Попълнете: редът не съдържа ЕГН"],
        ["5", "ЕГН или ЛНЧ", "Ред 1 вече съдържа това дете"],
        ["6", "Причина", "Напишете едно от: не е записан, напуснал, завърнал се от чужбина, преместен, друга"],
        ["7", "Община", "Вашата организация не обслужва тази община"],
    ]
    assert await _counts(world) == before, "a good row was imported from a refused list"


@pytest.mark.parametrize(
    ("content", "messages"),
    [
        ("ЕГН;Община\n1543114120;SZR12\n".encode("utf-16"), ["Това не е текстов CSV файл"]),
        (b"\x98\x98;\x98\n", ["Файлът не е текст в UTF-8 или Windows-1251"]),
        ("ЕГН;Име;Фамилия;Клас\n1543114120;Стефан;Колев;5\n".encode("cp1251"), ["Няма колона „Община“"]),
        # no header row at all: the first child is taken for the headings, and neither column is there
        ("\n".join(LIST.splitlines()[1:]).encode("cp1251"),
         ["Няма колона „Община“", "Няма колона „ЕГН или ЛНЧ“ (заглавието ѝ може да е: егн"]),
        ("ЕГН;Име;Фамилия;Община\n".encode("cp1251"), []),
        (b"", ["Файлът е празен"]),
    ],
    ids=["utf-16", "not-text", "no-municipality-column", "no-header", "header-only", "empty"],
)
async def test_a_file_that_cannot_be_read_gets_a_clear_message_and_imports_nothing(
    client: httpx.AsyncClient, world: World, content: bytes, messages: list[str]
) -> None:
    await sign_in(client, OFFICER)
    before = await _counts(world)
    sent = await _send(client, content)
    if not messages:  # headings and no children: an empty list, which changes nothing
        assert sent.status_code == 200, sent.text
        assert _figure(sent, "Деца във файла") == "0"
    else:
        assert sent.status_code == 422, sent.text
        found = error_rows(sent)
        assert [row for row, _column, _said in found] == ["целия файл"] * len(messages)
        for (_row, _column, said), message in zip(found, messages, strict=True):
            assert said.startswith(message), said
        assert 'href="#file"' in sent.text
    assert await _counts(world) == before


async def test_a_list_over_the_limit_gets_a_page_that_says_so(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, OFFICER)
    before = await _counts(world)
    row = "1543114120;Стефан;Колев;2015;SZR12;35167;не е записан;5\n"
    huge = (HEADER + "\n" + row * (app.state.settings.max_csv_body_bytes // len(row))).encode("cp1251")
    sent = await _send(client, huge)
    assert sent.status_code == 413
    assert sent.headers["content-type"].startswith("text/html")
    assert "Файлът е твърде голям" in sent.text
    assert await _counts(world) == before


async def test_a_wrong_school_year_is_an_error_on_its_field(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, OFFICER)
    before = await _counts(world)
    sent = await _send(client, LIST.encode(), school_year="2026/2028")
    assert sent.status_code == 422
    assert 'href="#school_year"' in sent.text and 'id="school_year-error"' in sent.text
    assert "Напишете учебната година като две поредни години" in sent.text
    assert 'value="2026/2028"' in sent.text
    assert await _counts(world) == before
    chosen = await _send(client, LIST.encode(), school_year="2027/2028")
    assert _figure(chosen, "Учебна година") == "2027/2028"


async def test_no_file_chosen_is_an_error_on_the_field(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, OFFICER)
    form = await client.get("/worklists")
    sent = await client.post("/worklists/csv", data={"csrf_token": csrf_of(form)})
    assert sent.status_code == 422
    assert 'href="#file"' in sent.text and "Изберете CSV файла със списъка" in sent.text


async def test_the_coordinator_may_send_the_municipalitys_list(client: httpx.AsyncClient, world: World) -> None:
    start = await sign_in(client, COORDINATOR)
    assert 'href="/worklists"' in start.text
    sent = await _send(client, LIST.encode())
    assert sent.status_code == 200, sent.text
    assert _figure(sent, "Подадени нови сигнали") == "7"


@pytest.mark.parametrize("username", ["school-koprinka.staff", "cp-kazanlak.cp", "mkbppmn-kazanlak.commission"])
async def test_others_may_not_send_a_list(client: httpx.AsyncClient, world: World, username: str) -> None:
    api = await client.post(
        "/api/v1/worklists/csv", content=LIST.encode(),
        headers=await world.headers(username, **{"Content-Type": "text/csv"}),
    )
    assert api.status_code == 403
    start = await sign_in(client, username)
    assert 'href="/worklists"' not in start.text
    refused = await client.get("/worklists")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    before = await _counts(world)
    sent = await client.post(
        "/worklists/csv", data={"csrf_token": csrf_of(start)}, files={"file": ("a.csv", LIST.encode(), "text/csv")}
    )
    assert sent.status_code == 403 and "Нямате право" in sent.text
    assert await _counts(world) == before


async def test_the_list_is_refused_without_the_csrf_token(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, OFFICER)
    before = await _counts(world)
    sent = await client.post("/worklists/csv", files={"file": ("a.csv", LIST.encode(), "text/csv")})
    assert sent.status_code == 403
    assert await _counts(world) == before


# -- the menu offers the reports the service would show -------------------------------------------


async def test_the_education_officer_is_offered_the_mechanism_report_and_not_the_municipal_summary(
    client: httpx.AsyncClient, world: World
) -> None:
    summary = await client.get(
        "/api/v1/reports/summary", params={"municipality": "SZR12"}, headers=await world.headers(OFFICER)
    )
    assert summary.status_code == 403, "the API lets the education officer read the summary"
    start = await sign_in(client, OFFICER)
    assert 'href="/reports"' not in start.text
    assert 'href="/reports/mechanism"' in start.text
    assert (await client.get("/reports", params={"municipality": "SZR12"})).status_code == 403
    assert (await client.get("/reports/mechanism")).status_code == 200


@pytest.mark.parametrize("username", [COORDINATOR, "rue-lovech.auditor"])
async def test_the_coordinator_and_the_auditor_are_offered_both_reports(
    client: httpx.AsyncClient, world: World, username: str
) -> None:
    start = await sign_in(client, username)
    assert 'href="/reports"' in start.text and 'href="/reports/mechanism"' in start.text
    assert (await client.get("/reports", params={"municipality": "SZR12"})).status_code == 200
    assert (await client.get("/reports/mechanism", params={"municipality": "SZR12"})).status_code == 200


async def test_a_teacher_is_offered_no_report(client: httpx.AsyncClient, world: World) -> None:
    start = await sign_in(client, "school-koprinka.staff")
    assert 'href="/reports' not in start.text
