"""Three months after `returned_to_school` or `enrolled_first_time`: `retained` or
`dropped_again`, from the absence feed where it exists, otherwise asked of the school."""

from __future__ import annotations

import datetime

from service.followup.service import run_due
from tests.mechanism.helpers import COORDINATOR, KOPRINKA_CHILD_PIN, alert_of, import_kazanlak_list, post_with_etag

START = datetime.date(2026, 9, 21)
DUE = datetime.date(2027, 1, 4)


async def _closed_case(app, client, world, *, enrol: bool, outcome: str = "returned_to_school") -> str:
    app.state.clock = lambda: START
    await import_kazanlak_list(client, world)
    coordinator = await world.headers(COORDINATOR)
    alert = await alert_of(client, coordinator, KOPRINKA_CHILD_PIN)
    if enrol:
        enrolled = await client.post(
            "/api/v1/enrolments", headers=await world.headers("school-koprinka.admin"),
            json={"child_id": alert["child_id"], "school_id": str(await world.organisation_id("school-koprinka")),
                  "grade": 4, "start_date": str(START)},
        )
        assert enrolled.status_code == 201, enrolled.text
    closed = await post_with_etag(client, coordinator, alert["id"], "close", {"outcome": outcome})
    assert closed.status_code == 200, closed.text
    app.state.clock = lambda: DUE
    return str(alert["id"])


async def test_a_month_over_the_threshold_in_the_feed_shows_dropped_again(app, client, world, database):
    alert_id = await _closed_case(app, client, world, enrol=True)
    rows = [{"pin": KOPRINKA_CHILD_PIN, "month": m, "unexcused_hours": h, "excused_hours": 0}
            for m, h in (("2026-10", 0), ("2026-11", 12), ("2026-12", 1))]
    sent = await client.post("/api/v1/absence-reports", json={"rows": rows},
                             headers=await world.headers("school-koprinka.staff"))
    assert sent.status_code == 201, sent.text
    assert await run_due(database, datetime.date(2026, 12, 31)) == 0  # not due before 1 January
    assert await run_due(database, DUE) == 1
    shown = await client.get(f"/api/v1/alerts/{alert_id}", headers=await world.headers(COORDINATOR))
    assert shown.json()["follow_up"] == "dropped_again"


async def test_a_child_enrolled_nowhere_shows_dropped_again(app, client, world, database):
    alert_id = await _closed_case(app, client, world, enrol=False, outcome="enrolled_first_time")
    assert await run_due(database, DUE) == 1
    shown = await client.get(f"/api/v1/alerts/{alert_id}", headers=await world.headers(COORDINATOR))
    assert shown.json()["follow_up"] == "dropped_again"


async def test_without_figures_the_school_is_asked_and_only_it_answers(app, client, world, database):
    alert_id = await _closed_case(app, client, world, enrol=True)
    assert await run_due(database, DUE) == 1
    coordinator = await world.headers(COORDINATOR)
    shown = await client.get(f"/api/v1/alerts/{alert_id}", headers=coordinator)
    koprinka = str(await world.organisation_id("school-koprinka"))
    assert shown.json()["follow_up"] == "asked"
    assert koprinka in {r["organisation_id"] for r in shown.json()["recipients"]}

    other = await world.headers("school-kazanlak.staff")
    refused = await client.post(f"/api/v1/alerts/{alert_id}/follow-up", json={"result": "retained"},
                                headers={**other, "If-Match": '"1"'})
    assert refused.status_code == 404
    school = await world.headers("school-koprinka.staff")
    answered = await post_with_etag(client, school, alert_id, "follow-up", {"result": "retained"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["follow_up"] == "retained"
    twice = await post_with_etag(client, school, alert_id, "follow-up", {"result": "dropped_again"})
    assert twice.status_code == 409


async def test_an_outcome_not_followed_up_has_no_follow_up(app, client, world, database):
    alert_id = await _closed_case(app, client, world, enrol=False, outcome="not_found")
    assert await run_due(database, DUE) == 0
    shown = await client.get(f"/api/v1/alerts/{alert_id}", headers=await world.headers(COORDINATOR))
    assert shown.json()["follow_up"] is None and shown.json()["outcome"] == "not_found"


async def test_moving_within_the_country_names_the_destination(app, client, world):
    await import_kazanlak_list(client, world)
    coordinator = await world.headers(COORDINATOR)
    alert = await alert_of(client, coordinator, KOPRINKA_CHILD_PIN)
    missing = await post_with_etag(client, coordinator, alert["id"], "close", {"outcome": "moved_within_country"})
    assert missing.status_code == 422
    same = await post_with_etag(client, coordinator, alert["id"], "close",
                                {"outcome": "moved_within_country", "destination_municipality_code": "SZR12"})
    assert same.status_code == 422
    assert same.json()["errors"][0]["pointer"] == "#/destination_municipality_code"
    still = await client.get(f"/api/v1/alerts/{alert['id']}", headers=coordinator)
    assert still.json()["status"] == "open"
