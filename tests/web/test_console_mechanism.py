"""The national enrolment mechanism's report in the console: the API's counts by municipality and
settlement (settlements by the classifier's names), small counts hidden exactly as the API hides
them, the API's CSV, and the API's refusals."""

from __future__ import annotations

import re

import httpx

from tests.conftest import World
from tests.mechanism.helpers import COORDINATOR, OFFICER, import_kazanlak_list
from tests.web.helpers import sign_in

MECHANISM = "/api/v1/reports/mechanism"


def _cells(page: str, municipality: str, row: str) -> list[str]:
    """The counts of one row of a municipality's table (its heading cell is the settlement)."""
    table = page.split(f'id="municipality-{municipality}"', 1)[1].split("</table>", 1)[0]
    found = re.search(rf'<tr><th scope="row">{re.escape(row)}</th>(.*?)</tr>', table)
    assert found, f"no row {row} in {municipality}'s table"
    return re.findall(r"<td>([^<]*)</td>", found.group(1))


async def test_the_coordinator_sees_the_apis_counts_by_settlement_with_small_counts_hidden(
    client: httpx.AsyncClient, world: World
) -> None:
    await import_kazanlak_list(client, world)
    api = await client.get(MECHANISM, headers=await world.headers(COORDINATOR))
    assert api.status_code == 200, api.text
    rows = {row["settlement_code"]: row for row in api.json()["rows"]}
    assert rows[None]["children_to_find"] == 7 and rows["35167"]["children_to_find"] == "<5"

    await sign_in(client, COORDINATOR)
    page = await client.get("/reports/mechanism")
    assert page.status_code == 200, page.text
    assert "<caption>Община SZR12</caption>" in page.text
    header = page.text.split('id="municipality-SZR12"', 1)[1].split("</thead>", 1)[0]
    assert '<th scope="col">Деца за издирване</th>' in header and '<th scope="col">Населено място</th>' in header
    whole = _cells(page.text, "SZR12", "Цялата община")
    assert whole[0] == "7" and whole[6] == "0"  # children to find; not found
    town = _cells(page.text, "SZR12", "гр. Казанлък")
    assert town[0] == "под 5"
    assert "35167" not in page.text.split("<main", 1)[1], "a settlement the classifier knows is shown by its name"
    assert "LOV" not in page.text.split("<main", 1)[1]


async def test_the_csv_download_is_the_apis_csv(client: httpx.AsyncClient, world: World) -> None:
    await import_kazanlak_list(client, world)
    api = await client.get(
        MECHANISM, params={"format": "csv", "from": "2026-05", "to": "2026-11"},
        headers=await world.headers(COORDINATOR),
    )
    assert api.status_code == 200, api.text
    await sign_in(client, COORDINATOR)
    page = await client.get("/reports/mechanism", params={"first": "2026-05", "last": "2026-11"})
    link = re.search(r'href="(/reports/mechanism\.csv[^"]*)"', page.text)
    assert link
    download = await client.get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["cache-control"] == "no-store"
    assert download.content == api.content
    assert '"SZR12","35167","<5"' in download.text


async def test_a_coordinator_may_not_read_another_municipalitys_report(
    client: httpx.AsyncClient, world: World
) -> None:
    api = await client.get(
        MECHANISM, params={"municipality": "SZR12"}, headers=await world.headers("mun-lukovit.municipal")
    )
    assert api.status_code == 403
    await sign_in(client, "mun-lukovit.municipal")
    page = await client.get("/reports/mechanism", params={"municipality": "SZR12"})
    assert page.status_code == api.status_code
    assert "Община SZR12" not in page.text
    download = await client.get("/reports/mechanism.csv", params={"municipality": "SZR12"})
    assert download.status_code == api.status_code and "SZR12" not in download.text
    own = await client.get("/reports/mechanism")
    assert own.status_code == 200 and "Община LOV" in own.text and "Община SZR12" not in own.text


async def test_the_regional_officer_reads_the_regions_report_from_the_menu(
    client: httpx.AsyncClient, world: World
) -> None:
    await import_kazanlak_list(client, world)
    api = await client.get(MECHANISM, headers=await world.headers(OFFICER))
    start = await sign_in(client, OFFICER)
    assert 'href="/reports/mechanism"' in start.text
    page = await client.get("/reports/mechanism")
    assert page.status_code == 200, page.text
    for code in api.json()["municipality_codes"]:
        assert f"<caption>Община {code}</caption>" in page.text
    assert _cells(page.text, "SZR12", "Цялата община")[0] == "7"
    elsewhere = await client.get("/reports/mechanism", params={"municipality": "LOV19"})
    assert elsewhere.status_code == 403


async def test_a_teacher_has_no_mechanism_report(client: httpx.AsyncClient, world: World) -> None:
    start = await sign_in(client, "school-koprinka.staff")
    assert 'href="/reports/mechanism"' not in start.text
    assert (await client.get("/reports/mechanism", params={"municipality": "SZR12"})).status_code == 403
    assert (await client.get("/reports/mechanism.csv", params={"municipality": "SZR12"})).status_code == 403


async def test_the_auditor_names_the_municipality(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "rue-lovech.auditor")
    first = await client.get("/reports/mechanism")
    assert first.status_code == 200 and "<caption>" not in first.text and "error-summary" not in first.text
    chosen = await client.get("/reports/mechanism", params={"municipality": "szr12"})
    assert chosen.status_code == 200 and "<caption>Община SZR12</caption>" in chosen.text
    wrong = await client.get("/reports/mechanism", params={"municipality": "Казанлък"})
    assert wrong.status_code == 422 and 'href="#municipality"' in wrong.text


async def test_a_period_that_is_not_whole_months_is_an_error_on_its_field(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, COORDINATOR)
    page = await client.get("/reports/mechanism", params={"first": "2026-13"})
    assert page.status_code == 422
    assert 'href="#from"' in page.text and 'aria-invalid="true"' in page.text and "<caption>" not in page.text
    backwards = await client.get("/reports/mechanism", params={"first": "2026-11", "last": "2026-09"})
    assert backwards.status_code == 422 and 'href="#to"' in backwards.text
