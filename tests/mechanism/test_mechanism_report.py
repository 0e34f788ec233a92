"""Who reads the mechanism report, for which municipalities and months."""

from __future__ import annotations

import datetime

import pytest

from service.reports.periods import mechanism_period
from tests.mechanism.helpers import COORDINATOR, OFFICER, import_kazanlak_list, post_with_etag


@pytest.mark.parametrize(
    ("username", "municipality", "expected"),
    [
        (OFFICER, None, 200),  # the region
        (OFFICER, "LOV19", 403),  # not its region
        ("mun-kazanlak.municipal", "SZR12", 200),
        ("mun-lukovit.municipal", "SZR12", 403),
        ("rue-lovech.auditor", "SZR12", 200),
        ("rue-lovech.auditor", None, 422),  # an auditor names the municipality
        ("school-koprinka.admin", "SZR12", 403),
        ("cp-kazanlak.cp", "SZR12", 403),
    ],
)
async def test_who_reads_the_mechanism_report(client, world, username, municipality, expected):
    params = {"municipality": municipality} if municipality else {}
    response = await client.get("/api/v1/reports/mechanism", params=params, headers=await world.headers(username))
    assert response.status_code == expected, response.text


async def test_the_report_counts_the_list_with_small_counts_hidden(client, world):
    await import_kazanlak_list(client, world)
    report = await client.get("/api/v1/reports/mechanism", headers=await world.headers(OFFICER))
    rows = {row["settlement_code"]: row for row in report.json()["rows"]}
    assert rows[None]["children_to_find"] == 7
    assert rows["35167"]["children_to_find"] == "<5"  # two children of Kazanlak town
    assert rows[None]["not_found"] == 0
    half_month = await client.get("/api/v1/reports/mechanism", params={"from": "2026-09-15"},
                                  headers=await world.headers(OFFICER))
    assert half_month.status_code == 422


def test_the_default_period_runs_from_the_last_report_day():
    assert mechanism_period(datetime.date(2026, 11, 29)) == (datetime.date(2026, 5, 1), datetime.date(2026, 11, 30))
    assert mechanism_period(datetime.date(2026, 12, 1)) == (datetime.date(2026, 12, 1), datetime.date(2026, 12, 31))
    assert mechanism_period(datetime.date(2027, 3, 10)) == (datetime.date(2026, 12, 1), datetime.date(2027, 3, 31))


async def test_alerts_raised_about_a_child_carry_its_settlement_into_the_report(client, world):
    """Alerts not raised by a list (a coordinator's, an absence rule's) take the settlement of
    the child's address, so the report counts them under Копринка (38488), not `unknown`."""
    coordinator = await world.headers(COORDINATOR)
    angel = await client.post("/api/v1/children/lookup", json={"pin": "1152035081"}, headers=coordinator)
    assert angel.status_code == 200, angel.text
    raised = await client.post("/api/v1/alerts", headers=coordinator, json={
        "child_id": angel.json()["id"], "type": "dropout_risk", "severity": "concern", "details": {}})
    assert raised.status_code == 201, raised.text
    assert raised.json()["settlement_code"] == "38488"
    closed = await post_with_etag(client, coordinator, raised.json()["id"], "close", {"outcome": "returned_to_school"})
    assert closed.status_code == 200, closed.text

    teacher = await world.headers("school-koprinka.staff")
    figures = await client.post("/api/v1/absence-reports", headers=teacher, json={"rows": [
        {"pin": "1152035081", "month": "2026-10", "unexcused_hours": 12, "excused_hours": 0}]})
    assert figures.status_code == 201, figures.text
    by_rule = await client.get("/api/v1/alerts", params={"child_id": angel.json()["id"], "type": "unexcused_absences"},
                               headers=coordinator)
    assert [a["settlement_code"] for a in by_rule.json()["items"]] == ["38488"]

    report = await client.get("/api/v1/reports/mechanism", headers=await world.headers(OFFICER))
    rows = {row["settlement_code"]: row for row in report.json()["rows"]}
    assert rows["38488"]["returned_to_school"] == "<5"
    assert "unknown" not in rows
