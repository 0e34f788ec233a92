"""Issue 18's "Done when", as far as teams, lists, outcomes, follow-up and the report go: the
regional officer imports the list, the coordinator assigns a child to the team, a teacher on
the team records a visit, the child is enrolled, and three months of absence figures later the
alert shows `retained` and the mechanism report counts it — on both engines.

`test_mechanism_walk_with_provisional_child` walks it for a child without an ЕГН: the team
finds the child, its PIN is found and the provisional record is merged into the PIN record."""

from __future__ import annotations

import datetime

from service.followup.service import run_due
from tests.children.helpers import egn_for
from tests.mechanism.helpers import (
    COORDINATOR,
    KOPRINKA_CHILD_PIN,
    OFFICER,
    alert_of,
    import_kazanlak_list,
    post_with_etag,
    team_id,
)

SCHOOL_YEAR_START = datetime.date(2026, 9, 21)
AFTER_THREE_MONTHS = datetime.date(2027, 1, 5)


def _municipality_row(report: dict) -> dict:
    return next(r for r in report["rows"] if r["municipality_code"] == "SZR12" and r["settlement_code"] is None)


async def _walk_to_enrolment(app, client, world) -> tuple[str, str]:
    """List imported, case assigned to team-kazanlak, visited by a teacher on the team, child
    enrolled at Koprinka and the case closed `enrolled_first_time`; returns (alert id, child id)."""
    app.state.clock = lambda: SCHOOL_YEAR_START
    result = await import_kazanlak_list(client, world)
    assert (result["rows_accepted"], result["alerts_raised"], result["provisional_children"]) == (7, 7, 2)

    coordinator = await world.headers(COORDINATOR)
    alert = await alert_of(client, coordinator, KOPRINKA_CHILD_PIN)
    assert alert["settlement_code"] == "38488" and alert["details"]["school_year"] == "2026/2027"
    team = await team_id(client, coordinator, "team-kazanlak")
    assigned = await post_with_etag(client, coordinator, alert["id"], "assign", {"team_id": team})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["team_id"] == team

    teacher = await world.headers("school-koprinka.staff")
    visit = await post_with_etag(client, teacher, alert["id"], "actions",
                                 {"kind": "field_visit", "result": "found_at_address", "text": "семейството е у дома"})
    assert visit.status_code == 200, visit.text
    assert [a["kind"] for a in visit.json()["actions"]] == ["field_visit"]

    child_id = alert["child_id"]
    enrolled = await client.post(
        "/api/v1/enrolments",
        json={"child_id": child_id, "school_id": str(await world.organisation_id("school-koprinka")), "grade": 4,
              "start_date": str(SCHOOL_YEAR_START)},
        headers=await world.headers("school-koprinka.admin"),
    )
    assert enrolled.status_code == 201, enrolled.text
    closed = await post_with_etag(client, coordinator, alert["id"], "close", {"outcome": "enrolled_first_time"})
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["follow_up"]) == ("closed", "pending")
    assert closed.json()["follow_up_due_on"] == "2027-01-01"
    return alert["id"], child_id


async def test_mechanism_walk_list_team_visit_enrolment_retained_report(app, client, world, database):
    alert_id, _ = await _walk_to_enrolment(app, client, world)
    officer = await world.headers(OFFICER)
    period = {"from": "2026-09", "to": "2027-01"}
    app.state.clock = lambda: AFTER_THREE_MONTHS
    before = await client.get("/api/v1/reports/mechanism", params=period, headers=officer)
    assert before.status_code == 200, before.text
    assert _municipality_row(before.json())["retained"] == 0

    # three months of the school's absence figures: the pupil stays under the threshold
    school = await world.headers("school-koprinka.staff")
    rows = [{"pin": KOPRINKA_CHILD_PIN, "month": month, "unexcused_hours": 2, "excused_hours": 4}
            for month in ("2026-10", "2026-11", "2026-12")]
    figures = await client.post("/api/v1/absence-reports", json={"rows": rows}, headers=school)
    assert figures.status_code == 201, figures.text

    assert await run_due(database, AFTER_THREE_MONTHS) == 1
    coordinator = await world.headers(COORDINATOR)
    shown = await client.get(f"/api/v1/alerts/{alert_id}", headers=coordinator)
    assert shown.json()["follow_up"] == "retained"
    assert await run_due(database, AFTER_THREE_MONTHS) == 0  # decided once

    after = await client.get("/api/v1/reports/mechanism", params=period, headers=officer)
    row = _municipality_row(after.json())
    assert row["children_to_find"] == 7
    assert (row["found"], row["enrolled_first_time"], row["retained"]) == ("<5", "<5", "<5")
    koprinka = next(r for r in after.json()["rows"] if r["settlement_code"] == "38488")
    assert koprinka["retained"] == "<5" and koprinka["dropped_again"] == 0
    as_csv = await client.get("/api/v1/reports/mechanism", params={**period, "format": "csv"}, headers=officer)
    assert as_csv.status_code == 200 and '"SZR12","38488","<5"' in as_csv.text


async def _provisional_case_assigned(app, client, world) -> tuple[dict, dict[str, str]]:
    """The list imported and the case of Мирела Асенова (no ЕГН; 2016, Енина 27499) assigned
    to team-kazanlak: (the alert as the coordinator sees it, the coordinator's headers)."""
    app.state.clock = lambda: SCHOOL_YEAR_START
    await import_kazanlak_list(client, world)
    coordinator = await world.headers(COORDINATOR)
    listed = await client.get("/api/v1/alerts", params={"type": "not_enrolled"}, headers=coordinator)
    provisional = next(a for a in listed.json()["items"] if a["settlement_code"] == "27499")
    child = await client.get(f"/api/v1/children/{provisional['child_id']}", headers=coordinator)
    assert child.status_code == 200, child.text
    assert (child.json()["given_name"], child.json()["provisional"], child.json()["birth_year"]) == (
        "Мирела", True, 2016)
    team = await team_id(client, coordinator, "team-kazanlak")
    assigned = await post_with_etag(client, coordinator, provisional["id"], "assign", {"team_id": team})
    assert assigned.status_code == 200, assigned.text
    return provisional, coordinator


async def test_mechanism_walk_with_provisional_child(app, client, world, database):
    """A child the registers know only by name is assigned to the team and visited by a police
    officer on it; the child's ЕГН is found, and the teacher on the team merges the provisional
    record into the PIN record (POST /children/{id}/merge); the child is enrolled, three months
    of figures later the alert shows `retained`, and the report counts it in Енина."""
    provisional, coordinator = await _provisional_case_assigned(app, client, world)
    police = await world.headers("police-kazanlak.police")
    seen = await client.get(f"/api/v1/children/{provisional['child_id']}", headers=police)
    assert seen.status_code == 200, seen.text
    visit = await post_with_etag(client, police, provisional["id"], "actions",
                                 {"kind": "field_visit", "result": "found_at_address", "text": "живее при баба си"})
    assert visit.status_code == 200, visit.text

    # the ЕГН is found: the civil register knows Мирела, and so does Obhvat (a record with the PIN)
    pin = egn_for(datetime.date(2016, 5, 14), serial=712)
    registered = await client.post("/api/v1/children", headers=coordinator, json={
        "pin": pin, "given_name": "Мирела", "family_name": "Асенова", "date_of_birth": "2016-05-14", "sex": "female",
        "municipality_code": "SZR12"})
    assert registered.status_code == 201, registered.text
    kept = registered.json()["id"]
    teacher = await world.headers("school-koprinka.staff")
    merged = await client.post(f"/api/v1/children/{provisional['child_id']}/merge", json={"pin": pin}, headers=teacher)
    assert merged.status_code == 200, merged.text
    assert (merged.json()["id"], merged.json()["merged_child_id"], merged.json()["alerts_moved"]) == (
        kept, provisional["child_id"], 1)
    old = await client.get(f"/api/v1/children/{provisional['child_id']}", headers=coordinator)
    assert old.status_code == 301 and old.headers["location"].endswith(f"/children/{kept}")
    case = await client.get(f"/api/v1/alerts/{provisional['id']}", headers=teacher)
    assert (case.json()["child_id"], case.json()["settlement_code"]) == (kept, "27499")

    enrolled = await client.post(
        "/api/v1/enrolments",
        json={"child_id": kept, "school_id": str(await world.organisation_id("school-koprinka")), "grade": 4,
              "start_date": str(SCHOOL_YEAR_START)},
        headers=await world.headers("school-koprinka.admin"),
    )
    assert enrolled.status_code == 201, enrolled.text
    closed = await post_with_etag(client, coordinator, provisional["id"], "close", {"outcome": "enrolled_first_time"})
    assert closed.status_code == 200, closed.text
    assert (closed.json()["follow_up"], closed.json()["follow_up_due_on"]) == ("pending", "2027-01-01")

    app.state.clock = lambda: AFTER_THREE_MONTHS
    rows = [{"pin": pin, "month": month, "unexcused_hours": 1, "excused_hours": 2}
            for month in ("2026-10", "2026-11", "2026-12")]
    figures = await client.post("/api/v1/absence-reports", json={"rows": rows}, headers=teacher)
    assert figures.status_code == 201, figures.text
    assert await run_due(database, AFTER_THREE_MONTHS) == 1
    assert (await client.get(f"/api/v1/alerts/{provisional['id']}", headers=coordinator)).json()["follow_up"] == (
        "retained")

    report = await client.get("/api/v1/reports/mechanism", params={"from": "2026-09", "to": "2027-01"},
                              headers=await world.headers(OFFICER))
    assert report.status_code == 200, report.text
    enina = next(r for r in report.json()["rows"] if r["settlement_code"] == "27499")
    assert (enina["children_to_find"], enina["enrolled_first_time"], enina["retained"]) == ("<5", "<5", "<5")
    assert enina["dropped_again"] == 0
    as_csv = await client.get("/api/v1/reports/mechanism", params={"from": "2026-09", "to": "2027-01", "format": "csv"},
                              headers=await world.headers(OFFICER))
    assert '"SZR12","27499","<5"' in as_csv.text


async def test_a_provisional_child_whose_family_moved_is_looked_for_where_it_went(app, client, world):
    """The police officer on the team finds that the family of the provisional child moved to
    Lukovit: the case closes `moved_within_country` and the child is to be found there."""
    provisional, _ = await _provisional_case_assigned(app, client, world)
    police = await world.headers("police-kazanlak.police")
    visit = await post_with_etag(client, police, provisional["id"], "actions",
                                 {"kind": "field_visit", "result": "family_moved"})
    assert visit.status_code == 200, visit.text
    closed = await post_with_etag(client, police, provisional["id"], "close",
                                  {"outcome": "moved_within_country", "destination_municipality_code": "LOV19"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["follow_up"] is None

    # the family moved to Lukovit: the child is now a child to find there
    lukovit = await world.headers("mun-lukovit.municipal")
    there = await client.get("/api/v1/alerts", params={"child_id": provisional["child_id"]}, headers=lukovit)
    assert [(a["type"], a["municipality_code"], a["status"], a["settlement_code"]) for a in there.json()["items"]] == [
        ("not_enrolled", "LOV19", "open", None)
    ]
