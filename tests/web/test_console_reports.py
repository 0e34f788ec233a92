"""The coordinator's report in the console: the same figures as the API's summary, small counts
hidden the same way, a chart with a title, a description and a table of the same figures, the
same CSV, and the same refusals for people who may not read the municipality's report."""

from __future__ import annotations

import re

import httpx

from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, pupil_id, raise_alert
from tests.conftest import World
from tests.web.helpers import sign_in

SUMMARY = "/api/v1/reports/summary"


async def _two_alerts_in_kazanlak(client: httpx.AsyncClient, world: World) -> None:
    teacher = await world.headers("school-koprinka.staff")
    for pin in KOPRINKA_PUPIL_PINS[:2]:
        await raise_alert(client, teacher, await pupil_id(client, teacher, pin))


def _table_cell(page: str, caption: str, row: str) -> str:
    table = page.split(f"<caption>{caption}</caption>", 1)[1].split("</table>", 1)[0]
    found = re.search(rf'<th scope="row">{re.escape(row)}</th><td>([^<]*)</td>', table)
    assert found, f"no row {row} in {caption}"
    return found.group(1)


async def test_the_coordinator_sees_the_apis_figures_with_small_counts_hidden(
    client: httpx.AsyncClient, world: World
) -> None:
    await _two_alerts_in_kazanlak(client, world)
    api = await client.get(SUMMARY, headers=await world.headers("mun-kazanlak.municipal"))
    assert api.status_code == 200
    alerts = api.json()["alerts"]
    assert alerts["by_type"]["unexcused_absences"] == "<5" and alerts["by_type"]["dropout_risk"] == 0

    await sign_in(client, "mun-kazanlak.municipal")
    page = await client.get("/reports")
    assert page.status_code == 200, page.text
    assert "Сигнали в SZR12" in page.text
    assert _table_cell(page.text, "Сигнали по вид", "Неизвинени отсъствия") == "под 5"
    assert _table_cell(page.text, "Сигнали по вид", "Риск от отпадане") == "0"
    assert _table_cell(page.text, "Сигнали по вид", "Всички сигнали") == "под 5"
    assert "2</td>" not in page.text.split("<caption>Сигнали по вид</caption>", 1)[1].split("</table>")[0]
    svg = page.text.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert 'stroke-dasharray' in svg, "a count under 5 is not drawn as the dashed outline"


async def test_the_csv_download_is_the_apis_csv(client: httpx.AsyncClient, world: World) -> None:
    await _two_alerts_in_kazanlak(client, world)
    api = await client.get(
        SUMMARY, params={"format": "csv", "from": "2026-01", "to": "2026-12"},
        headers=await world.headers("mun-kazanlak.municipal"),
    )
    await sign_in(client, "mun-kazanlak.municipal")
    page = await client.get("/reports", params={"first": "2026-01", "last": "2026-12"})
    link = re.search(r'href="(/reports/summary\.csv[^"]*)"', page.text)
    assert link
    download = await client.get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["cache-control"] == "no-store"
    assert download.content == api.content
    assert '"type","unexcused_absences","<5"' in download.text


async def test_a_period_that_is_not_whole_months_is_an_error_on_its_field(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "mun-kazanlak.municipal")
    page = await client.get("/reports", params={"first": "2026-13"})
    assert page.status_code == 422
    assert 'href="#from"' in page.text and 'aria-invalid="true"' in page.text
    backwards = await client.get("/reports", params={"first": "2026-11", "last": "2026-09"})
    assert backwards.status_code == 422 and 'href="#to"' in backwards.text


async def test_a_coordinator_may_not_read_another_municipalitys_report(
    client: httpx.AsyncClient, world: World
) -> None:
    api = await client.get(
        SUMMARY, params={"municipality": "SZR12"}, headers=await world.headers("mun-lukovit.municipal")
    )
    await sign_in(client, "mun-lukovit.municipal")
    page = await client.get("/reports", params={"municipality": "SZR12"})
    assert page.status_code == api.status_code and page.status_code in (403, 404)
    assert "SZR12" not in page.text.split("<main", 1)[1]
    csv_download = await client.get("/reports/summary.csv", params={"municipality": "SZR12"})
    assert csv_download.status_code == api.status_code


async def test_a_teacher_has_no_report(client: httpx.AsyncClient, world: World) -> None:
    start = await sign_in(client, "school-koprinka.staff")
    assert 'href="/reports"' not in start.text
    assert (await client.get("/reports")).status_code == 403
    assert (await client.get("/reports/summary.csv")).status_code == 403


async def test_the_auditor_names_the_municipality(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "rue-lovech.auditor")
    first = await client.get("/reports")
    assert first.status_code == 200 and "Сигнали в" not in first.text and "error-summary" not in first.text
    chosen = await client.get("/reports", params={"municipality": "szr12"})
    assert chosen.status_code == 200 and "Сигнали в SZR12" in chosen.text
    wrong = await client.get("/reports", params={"municipality": "Казанлък"})
    assert wrong.status_code == 422 and 'href="#municipality"' in wrong.text
