"""Issue [7/9]: a municipality's summary of alerts, with small counts hidden, times to
acknowledge, long-open alerts, a CSV export; coordinators see their own municipality only, and
every read is audited."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from service.alerts.models import AlertRecipient
from service.audit.models import AuditEvent
from service.core.clock import local_today
from tests.alerts import test_demo_walk as demo_walk

KOPRINKA_PUPIL_PIN = demo_walk.KOPRINKA_PUPIL_PIN
SUMMARY = "/api/v1/reports/summary"


def _counts(report: dict) -> list:
    alerts = report["alerts"]
    values = [alerts["total"], alerts["open_older_than_30_days"]]
    for section in ("by_type", "by_status", "by_outcome", "by_source_kind"):
        values += list(alerts[section].values())
    return values + [row["acknowledged"] for row in report["time_to_acknowledge"]]


def _times(report: dict) -> dict[str, dict]:
    return {row["recipient_kind"]: row for row in report["time_to_acknowledge"]}


async def _audited_reads(database) -> list[AuditEvent]:
    async with database.transaction() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.action == "reports.read").order_by(AuditEvent.seq)
        )
        return list(rows.scalars())


async def _raise_monthly_alerts(client, world, months: list[str]) -> list[dict]:
    teacher = await world.headers("school-koprinka.staff")
    child = await client.post("/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PIN}, headers=teacher)
    raised = []
    for month in months:
        response = await client.post(
            "/api/v1/alerts", headers=teacher,
            json={"child_id": child.json()["id"], "type": "unexcused_absences",
                  "details": {"month": month, "unexcused_hours": 9}},
        )
        assert response.status_code == 201, response.text
        raised.append(response.json())
    return raised


async def _acknowledge(client, headers, alert_id: str) -> None:
    current = await client.get(f"/api/v1/alerts/{alert_id}", headers=headers)
    done = await client.post(
        f"/api/v1/alerts/{alert_id}/acknowledge", headers={**headers, "If-Match": current.headers["ETag"]}
    )
    assert done.status_code == 200, done.text


async def test_kazanlak_summary_after_the_demo_walk_hides_small_counts_and_shows_times_to_acknowledge(client, world):
    await demo_walk.test_koprinka_absences_walk_reaches_the_right_agencies_and_back(client, world)
    municipal = await world.headers("mun-kazanlak.municipal")

    response = await client.get(SUMMARY, params={"municipality": "SZR12"}, headers=municipal)

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["municipality"] == "SZR12" and report["from"] is None and report["to"] is None
    alerts = report["alerts"]
    assert alerts["total"] == "<5"
    assert alerts["by_type"]["unexcused_absences"] == "<5" and alerts["by_type"]["whereabouts_unknown"] == "<5"
    assert alerts["by_type"]["dropout_risk"] == 0
    assert alerts["by_status"] == {"open": "<5", "closed": "<5"}
    assert alerts["by_outcome"]["returned_to_school"] == "<5" and alerts["by_outcome"]["unfounded"] == 0
    assert alerts["by_source_kind"]["school"] == "<5" and alerts["by_source_kind"]["municipality"] == "<5"
    assert alerts["open_older_than_30_days"] == 0
    assert not [v for v in _counts(report) if isinstance(v, int) and 0 < v < 5]
    times = _times(report)
    for kind in ("child_protection", "municipality"):
        assert times[kind]["acknowledged"] == "<5"
        assert times[kind]["median_hours"] is not None and times[kind]["median_hours"] >= 0
        assert times[kind]["p90_hours"] >= times[kind]["median_hours"]
    assert times["school"] == {"recipient_kind": "school", "acknowledged": 0, "median_hours": None, "p90_hours": None}
    assert "<5" in report["suppression"]


async def test_times_to_acknowledge_are_the_median_and_90th_percentile_per_recipient_kind(client, world, database):
    alerts = await _raise_monthly_alerts(client, world, [f"2026-{m:02d}" for m in range(5, 11)])
    cp = await world.headers("cp-kazanlak.cp")
    cp_kazanlak = await world.organisation_id("cp-kazanlak")
    acknowledged_at = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    for alert, hours in zip(alerts, [1, 2, 3, 4, 5, 10], strict=True):
        await _acknowledge(client, cp, alert["id"])
        async with database.transaction() as session:
            await session.execute(
                update(AlertRecipient)
                .where(AlertRecipient.alert_id == uuid.UUID(alert["id"]), AlertRecipient.organisation_id == cp_kazanlak)
                .values(delivered_at=acknowledged_at - timedelta(hours=hours), acknowledged_at=acknowledged_at)
            )

    report = (await client.get(SUMMARY, headers=await world.headers("mun-kazanlak.municipal"))).json()

    assert report["municipality"] == "SZR12"  # the coordinator's own, by default
    assert _times(report)["child_protection"] == {
        "recipient_kind": "child_protection", "acknowledged": 6, "median_hours": 3.5, "p90_hours": 7.5,
    }
    assert _times(report)["municipality"]["acknowledged"] == 0  # the municipality has not acknowledged
    alerts_counted = report["alerts"]
    assert alerts_counted["total"] == 6 and alerts_counted["by_type"]["unexcused_absences"] == 6
    assert alerts_counted["by_status"] == {"open": 6, "closed": 0}
    assert alerts_counted["by_source_kind"]["school"] == 6


async def test_one_closed_alert_of_six_cannot_be_worked_out_from_the_other_counts(client, world):
    alerts = await _raise_monthly_alerts(client, world, [f"2026-{m:02d}" for m in range(5, 11)])
    cp = await world.headers("cp-kazanlak.cp")
    current = await client.get(f"/api/v1/alerts/{alerts[0]['id']}", headers=cp)
    closed = await client.post(
        f"/api/v1/alerts/{alerts[0]['id']}/close", json={"outcome": "returned_to_school"},
        headers={**cp, "If-Match": current.headers["ETag"]},
    )
    assert closed.status_code == 200, closed.text

    alerts_counted = (await client.get(SUMMARY, headers=await world.headers("mun-kazanlak.municipal"))).json()["alerts"]

    assert alerts_counted["by_status"] == {"open": "suppressed", "closed": "<5"}
    assert alerts_counted["by_outcome"]["returned_to_school"] == "<5"
    # 6 - 5 would give the closed one away, through any of the groups that add up to the total
    assert alerts_counted["total"] == "suppressed"
    assert alerts_counted["by_type"]["unexcused_absences"] == "suppressed"
    assert alerts_counted["by_source_kind"]["school"] == "suppressed"


async def test_open_alerts_raised_over_30_days_ago_are_counted(client, world, app):
    await _raise_monthly_alerts(client, world, [f"2026-{m:02d}" for m in range(5, 11)])
    municipal = await world.headers("mun-kazanlak.municipal")

    now = (await client.get(SUMMARY, headers=municipal)).json()["alerts"]["open_older_than_30_days"]
    app.state.clock = lambda: local_today() + timedelta(days=31)
    later = (await client.get(SUMMARY, headers=municipal)).json()["alerts"]["open_older_than_30_days"]

    assert (now, later) == (0, 6)


async def test_the_period_covers_alerts_raised_in_whole_months_from_the_first_to_the_last(client, world):
    await _raise_monthly_alerts(client, world, [f"2026-{m:02d}" for m in range(5, 11)])
    municipal = await world.headers("mun-kazanlak.municipal")
    this_month = local_today().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    next_month = (this_month + timedelta(days=31)).replace(day=1)

    def report(**period: str) -> object:
        return client.get(SUMMARY, params=period, headers=municipal)

    month = f"{this_month:%Y-%m}"
    whole = (await report(**{"from": month, "to": month})).json()
    assert (whole["from"], whole["to"]) == (this_month.isoformat(), (next_month - timedelta(days=1)).isoformat())
    assert whole["alerts"]["total"] == 6
    assert (await report(**{"from": f"{next_month:%Y-%m}"})).json()["alerts"]["total"] == 0
    assert (await report(to=f"{last_month:%Y-%m}")).json()["alerts"]["total"] == 0
    # clients that send dates keep working with the first and the last day of a month
    as_dates = await report(**{"from": this_month.isoformat(), "to": (next_month - timedelta(days=1)).isoformat()})
    assert as_dates.json()["alerts"]["total"] == 6
    backwards = await report(**{"from": month, "to": f"{last_month:%Y-%m}"})
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["parameter"] == "to"


async def test_two_windows_a_day_apart_cannot_single_out_a_closed_abuse_alert(client, world):
    """The review's attack: the coordinator may not read a closed abuse alert, so asks for two
    windows that differ by the one day it was raised and subtracts. Only whole months exist."""
    await _raise_monthly_alerts(client, world, [f"2026-{m:02d}" for m in range(5, 11)])
    municipal = await world.headers("mun-kazanlak.municipal")
    today = local_today()

    day_before = await client.get(SUMMARY, params={"to": (today - timedelta(days=1)).isoformat()}, headers=municipal)
    day_of = await client.get(SUMMARY, params={"to": today.isoformat()}, headers=municipal)
    starting_today = await client.get(SUMMARY, params={"from": today.isoformat()}, headers=municipal)
    starting_tomorrow = await client.get(
        SUMMARY, params={"from": (today + timedelta(days=1)).isoformat()}, headers=municipal
    )

    refused = [r for r in (day_before, day_of, starting_today, starting_tomorrow) if r.status_code == 422]
    # of each pair of windows a day apart at least one is not a month boundary, and is refused
    assert day_before in refused or day_of in refused
    assert starting_today in refused or starting_tomorrow in refused
    for response in refused:
        [error] = response.json()["errors"]
        assert error["parameter"] in {"from", "to"} and "whole calendar months" in error["detail"]


@pytest.mark.parametrize(("parameter", "value"), [
    ("from", "2026-10-02"), ("from", "2026-10-31"), ("to", "2026-10-30"), ("to", "2026-10-01"),
    ("to", "2026-02-28T00:00"), ("from", "2026-1"), ("from", "10-2026"), ("to", "2026-00"), ("from", "1999-12"),
    ("to", "3000-01"),
])
async def test_a_period_that_is_not_whole_months_is_a_422_naming_the_parameter(client, world, parameter, value):
    municipal = await world.headers("mun-kazanlak.municipal")
    response = await client.get(SUMMARY, params={parameter: value}, headers=municipal)

    assert response.status_code == 422, response.text
    assert [e["parameter"] for e in response.json()["errors"]] == [parameter]


async def test_csv_export_has_the_same_figures(client, world):
    await demo_walk.test_koprinka_absences_walk_reaches_the_right_agencies_and_back(client, world)
    auditor = await world.headers("rue-lovech.auditor")

    response = await client.get(SUMMARY, params={"municipality": "SZR12", "format": "csv"}, headers=auditor)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="summary-SZR12.csv"' in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == '"section","key","value","median_hours","p90_hours"'  # every field quoted
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["section", "key", "value", "median_hours", "p90_hours"]
    assert ["report", "municipality", "SZR12", "", ""] in rows
    assert ["alerts", "total", "<5", "", ""] in rows and ["status", "closed", "<5", "", ""] in rows
    assert ["type", "dropout_risk", "0", "", ""] in rows
    cp_row = next(row for row in rows if row[:2] == ["time_to_acknowledge", "child_protection"])
    assert cp_row[2] == "<5" and cp_row[3] != ""


async def test_a_coordinator_of_another_municipality_gets_403_and_the_denial_is_audited(client, world, database):
    municipal = await world.headers("mun-kazanlak.municipal")

    response = await client.get(SUMMARY, params={"municipality": "LOV19"}, headers=municipal)

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    [event] = await _audited_reads(database)
    assert (event.decision, event.resource_type, event.resource_id) == ("deny", "municipal_report", "LOV19")


async def test_an_auditor_reads_any_municipality_but_must_name_it(client, world):
    auditor = await world.headers("rue-lovech.auditor")  # in Lovech, reading Kazanlak
    assert (await client.get(SUMMARY, params={"municipality": "SZR12"}, headers=auditor)).status_code == 200
    assert (await client.get(SUMMARY, params={"municipality": "VID33"}, headers=auditor)).status_code == 200
    unnamed = await client.get(SUMMARY, headers=auditor)
    assert unnamed.status_code == 422 and unnamed.json()["errors"][0]["parameter"] == "municipality"
    malformed = await client.get(SUMMARY, params={"municipality": "kazanlak"}, headers=auditor)
    assert malformed.status_code == 422


@pytest.mark.parametrize(
    "username", ["cp-kazanlak.cp", "police-kazanlak.police", "school-koprinka.admin", "provider-kazanlak.provider",
                 "platform.admin"],
)
async def test_roles_other_than_coordinators_and_auditors_get_403(client, world, username):
    response = await client.get(SUMMARY, params={"municipality": "SZR12"}, headers=await world.headers(username))
    assert response.status_code == 403


async def test_every_report_read_is_audited_without_names(client, world, database):
    municipal = await world.headers("mun-kazanlak.municipal")
    auditor = await world.headers("rue-lovech.auditor")
    await client.get(SUMMARY, headers=municipal)
    await client.get(SUMMARY, params={"municipality": "SZR12", "format": "csv"}, headers=auditor)

    events = await _audited_reads(database)

    assert [(e.decision, e.resource_type, e.resource_id, e.purpose, e.basis) for e in events] == [
        ("allow", "municipal_report", "SZR12", "enrolment_followup", "public_task"),
        ("allow", "municipal_report", "SZR12", "audit", "legal_obligation"),
    ]
    assert "(json)" in events[0].reason and "(csv)" in events[1].reason
    assert all(e.child_id is None for e in events)
