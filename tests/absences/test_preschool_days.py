"""Kindergartens count unexcused days, not hours (DESIGN §3): more than 3 unexcused days in a
month raise `unexcused_absences`, as a rule among the absence rules that the admin edits."""

from __future__ import annotations

from datetime import date

import pytest

from tests.core.helpers import assert_problem

TODAY = date(2027, 2, 1)
MILA, BORIS = "2143144034", "2147025120"  # kindergarten children of the demo (kg-kazanlak, grade 0)
ANGEL = "1152035081"  # a Koprinka pupil, grade 9
CSV = {"Content-Type": "text/csv"}


@pytest.fixture(autouse=True)
def _frozen_clock(app):
    app.state.clock = lambda: TODAY


def _days_csv(*rows: tuple[str, int, int]) -> bytes:
    lines = ["ЕГН;Месец;Неизвинени дни;Извинени дни"] + [f"{pin};2027-01;{u};{e}" for pin, u, e in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


async def test_more_than_three_unexcused_days_at_a_kindergarten_raise_an_alert(client, world):
    response = await client.post(
        "/api/v1/absence-reports/csv", content=_days_csv((MILA, 4, 0), (BORIS, 3, 2)),
        headers=await world.headers("kg-kazanlak.staff", **CSV),
    )
    assert response.status_code == 201, response.text
    raised = response.json()["alerts_raised"]
    assert len(raised) == 1  # Борис's 3 days are not more than 3
    alert = await client.get(f"/api/v1/alerts/{raised[0]}", headers=await world.headers("cp-kazanlak.cp"))
    assert alert.json()["type"] == "unexcused_absences"
    assert alert.json()["details"] == {"month": "2027-01", "unexcused_days": 4}


async def test_a_kindergarten_may_send_days_as_json_too_and_hours_rules_ignore_them(client, world):
    response = await client.post(
        "/api/v1/absence-reports", headers=await world.headers("kg-kazanlak.staff"),
        json={"rows": [{"pin": BORIS, "month": "2027-01", "unexcused_days": 5, "excused_days": 0}]},
    )
    assert response.status_code == 201, response.text
    # 5 days is an alert of the days rule, once; the hours rules (more than 5 hours) do not read days
    assert len(response.json()["alerts_raised"]) == 1


async def test_days_for_a_school_pupil_or_both_hours_and_days_are_row_errors(client, world):
    response = await client.post(
        "/api/v1/absence-reports/csv", content=_days_csv((ANGEL, 4, 0)),
        headers=await world.headers("school-koprinka.staff", **CSV),
    )
    body = assert_problem(response, 422)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(1, "unexcused_days")]
    both = await client.post(
        "/api/v1/absence-reports", headers=await world.headers("kg-kazanlak.staff"),
        json={"rows": [{"pin": MILA, "month": "2027-01", "unexcused_days": 4, "excused_days": 0,
                        "unexcused_hours": 2, "excused_hours": 0}]},
    )
    assert [(e["row"], e["field"]) for e in assert_problem(both, 422)["errors"]] == [(1, "unexcused_days")]
    too_many = await client.post(
        "/api/v1/absence-reports/csv", content=_days_csv((MILA, 32, 0)),
        headers=await world.headers("kg-kazanlak.staff", **CSV),
    )
    assert [(e["row"], e["field"]) for e in assert_problem(too_many, 422)["errors"]] == [(1, "unexcused_days")]


async def test_the_preschool_threshold_is_a_rule_the_admin_changes(client, world, admin):
    rules = (await client.get("/api/v1/absence-rules", headers=admin)).json()["items"]
    preschool = [r for r in rules if r["unit"] == "days"]
    assert [(r["name"], r["threshold_hours"], r["months"]) for r in preschool] == [("preschool_unexcused_days", 3, 1)]
    laxer = [{**r, "threshold_hours": 5} if r["unit"] == "days" else r for r in rules]
    assert (await client.put("/api/v1/absence-rules", json={"items": laxer}, headers=admin)).status_code == 200
    response = await client.post(
        "/api/v1/absence-reports/csv", content=_days_csv((MILA, 4, 0)),
        headers=await world.headers("kg-kazanlak.staff", **CSV),
    )
    assert response.status_code == 201, response.text
    assert response.json()["alerts_raised"] == []
