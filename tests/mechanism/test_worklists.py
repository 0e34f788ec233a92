"""Lists of children to find: one not_enrolled alert per child and school year, re-imports that
update and never duplicate, row errors naming row and column, all or nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import col

from service.alerts.models import Alert
from service.children.models import Child
from service.demo.loader import KAZANLAK_WORKLIST
from tests.mechanism.helpers import CSV, OFFICER, import_kazanlak_list

LIST = KAZANLAK_WORKLIST.read_text(encoding="utf-8")


async def _count(database, model, *where):
    async with database.transaction() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def test_reimporting_the_list_updates_and_never_duplicates(client, world, database):
    first = await import_kazanlak_list(client, world)
    assert (first["alerts_raised"], first["children_registered"], first["provisional_children"]) == (7, 5, 2)
    # by municipality: Казанлък's seven children, for its team (whose area covers their settlements)
    [area] = first["areas"]
    assert (area["municipality_code"], area["rows"], area["alerts_raised"]) == ("SZR12", 7, 7)
    assert [team["code"] for team in area["teams"]] == ["team-kazanlak"]
    children = await _count(database, Child)
    # the same list, with one child's expected grade corrected, in Windows-1251
    changed = LIST.replace("SZR12;38488;не е записан;4", "SZR12;38488;не е записан;5")
    again = await import_kazanlak_list(client, world, changed.encode("cp1251"))
    assert (again["alerts_raised"], again["alerts_updated"], again["alerts_unchanged"]) == (0, 1, 6)
    assert (again["areas"][0]["rows"], again["areas"][0]["alerts_raised"]) == (7, 0)
    assert (again["children_registered"], again["provisional_children"]) == (0, 0)
    assert await _count(database, Child) == children
    assert await _count(database, Alert, col(Alert.type) == "not_enrolled") == 7


async def test_a_bad_row_refuses_the_whole_list_naming_row_and_column(client, world, database):
    bad = LIST.replace("1647024331", "164702433").replace(";Исмаил;Ахмедов;2014;", ";Исмаил;;2014;")
    bad += "1543114120;Стефан;Колев;2015;LOV19;44327;не е записан;5\n"
    officer = await world.headers(OFFICER, **CSV)
    response = await client.post("/api/v1/worklists/csv", content=bad.encode(), headers=officer)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(2, "pin"), (7, "family_name"), (8, "municipality")}
    assert await _count(database, Alert, col(Alert.type) == "not_enrolled") == 0


async def test_a_list_without_its_columns_is_refused_naming_each_missing_one(client, world, database):
    """No municipality column, and neither an ЕГН column nor all the name columns."""
    header, *rows = LIST.splitlines()
    kept = [i for i, name in enumerate(header.split(";")) if name.strip().lower() not in ("община", "егн", "фамилия")]
    stripped = "\n".join(";".join(line.split(";")[i] for i in kept) for line in [header, *rows]) + "\n"
    officer = await world.headers(OFFICER, **CSV)
    response = await client.post("/api/v1/worklists/csv", content=stripped.encode("cp1251"), headers=officer)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {(0, "municipality"), (0, "pin")}
    assert all(e["detail"].startswith(f"no column for {e['field']} (expected e.g. ") for e in errors)
    assert await _count(database, Alert, col(Alert.type) == "not_enrolled") == 0


async def test_a_child_listed_twice_is_a_row_error(client, world):
    twice = LIST + LIST.splitlines()[6] + "\n"
    officer = await world.headers(OFFICER, **CSV)
    response = await client.post("/api/v1/worklists/csv", content=twice.encode(), headers=officer)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"row": 8, "field": "given_name", "detail": "row 6 already lists this child"}]


async def test_a_child_found_already_is_not_looked_for_again_this_school_year(client, world):
    await import_kazanlak_list(client, world)
    coordinator = await world.headers("mun-kazanlak.municipal")
    listed = await client.get("/api/v1/alerts", params={"type": "not_enrolled"}, headers=coordinator)
    alert = next(a for a in listed.json()["items"] if a["settlement_code"] == "27499")
    etag = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=coordinator)).headers["ETag"]
    closed = await client.post(f"/api/v1/alerts/{alert['id']}/close", json={"outcome": "moved_abroad"},
                               headers={**coordinator, "If-Match": etag})
    assert closed.status_code == 200, closed.text
    again = await import_kazanlak_list(client, world)
    assert (again["alerts_raised"], again["alerts_unchanged"]) == (0, 7)


async def test_only_enrolment_leads_import_lists_and_only_for_their_municipalities(client, world):
    teacher = await world.headers("school-koprinka.admin", **CSV)
    refused = await client.post("/api/v1/worklists/csv", content=b"not even csv", headers=teacher)
    assert refused.status_code == 403
    lukovit = await world.headers("mun-lukovit.municipal", **CSV)
    elsewhere = await client.post("/api/v1/worklists/csv", content=LIST.encode(), headers=lukovit)
    assert elsewhere.status_code == 422
    assert {e["field"] for e in elsewhere.json()["errors"]} == {"municipality"}
    coordinator = await world.headers("mun-kazanlak.municipal", **CSV)
    own = await client.post("/api/v1/worklists/csv", content=LIST.encode(), headers=coordinator)
    assert own.status_code == 201, own.text


async def test_a_child_without_an_egn_is_the_provisional_child_the_field_team_registered(client, world, database):
    coordinator = await world.headers("mun-kazanlak.municipal")
    met = await client.post(
        "/api/v1/children/provisional",
        json={"given_name": "мирела", "family_name": "АСЕНОВА", "birth_year": 2016, "sex": "female",
              "settlement_code": "27499"},
        headers=coordinator,
    )
    assert met.status_code == 201, met.text
    first = await import_kazanlak_list(client, world)
    # Мирела Асенова (2016, Енина) is the child met in the field; Исмаил Ахмедов is new
    assert (first["children_registered"], first["provisional_children"]) == (5, 1)
    listed = await client.get("/api/v1/alerts", params={"type": "not_enrolled"}, headers=coordinator)
    by_settlement = {a["settlement_code"]: a["child_id"] for a in listed.json()["items"]}
    assert by_settlement["27499"] == met.json()["id"]
    ismail = (await client.get(f"/api/v1/children/{by_settlement['06896']}", headers=coordinator)).json()
    assert (ismail["provisional"], ismail["birth_year"], ismail["settlement_code"]) == (True, 2014, "06896")
    # a field team meeting the list's child registers the same record, and learns its sex
    again = await client.post(
        "/api/v1/children/provisional",
        json={"given_name": "Исмаил", "family_name": "Ахмедов", "birth_year": 2014, "sex": "male",
              "settlement_code": "06896"},
        headers=coordinator,
    )
    assert (again.status_code, again.json()) == (200, {"id": ismail["id"]})
    reimport = await import_kazanlak_list(client, world)
    assert (reimport["provisional_children"], reimport["alerts_raised"]) == (0, 0)
    assert await _count(database, Child, col(Child.pin_hash).is_(None)) == 2
