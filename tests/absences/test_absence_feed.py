"""Issue [5/9] acceptance: the sample e-diary files, all-or-nothing refusal, other schools'
pupils, re-sending, and the threshold rules."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from service.absences.models import AbsenceReport
from service.alerts.models import Alert
from service.audit.models import AuditEvent
from service.demo.loader import DEFAULT_DEMO_FILE
from service.organisations.models import User

SAMPLES = Path(DEFAULT_DEMO_FILE).parent
LUKOVIT = (SAMPLES / "absences-lukovit-2026-10.utf8bom.csv").read_bytes()
KOPRINKA = (SAMPLES / "absences-koprinka-2026-10.cp1251.csv").read_bytes()
CSV = {"Content-Type": "text/csv"}


@pytest.fixture(autouse=True)
def november_2026(app):
    app.state.clock = lambda: datetime.date(2026, 11, 23)


async def _count(database, model, *where):
    async with database.transaction() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def test_lukovit_utf8_bom_file_imports_and_raises_six_alerts(client, world):
    school = await world.headers("school-lukovit-1.staff", **CSV)
    response = await client.post("/api/v1/absence-reports/csv", content=LUKOVIT, headers=school)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["rows_accepted"] == 10
    assert len(body["alerts_raised"]) == 6 and body["alerts_updated"] == []
    alert = (
        await client.get(f"/api/v1/alerts/{body['alerts_raised'][0]}", headers=await world.headers("cp-lukovit.cp"))
    ).json()
    assert alert["type"] == "unexcused_absences" and alert["details"]["month"] == "2026-10"
    again = await client.get(f"/api/v1/absence-reports/{body['id']}", headers=school)
    assert again.json() == body


async def test_koprinka_windows_1251_semicolon_file_imports_and_raises_four_alerts(client, world):
    response = await client.post(
        "/api/v1/absence-reports/csv", content=KOPRINKA, headers=await world.headers("school-koprinka.admin", **CSV)
    )
    assert response.status_code == 201, response.text
    assert response.json()["rows_accepted"] == 10
    assert len(response.json()["alerts_raised"]) == 4
    names = KOPRINKA.decode("cp1251").splitlines()[1].split(";")[1]
    async with world.database.transaction() as session:
        stored = (await session.execute(select(AbsenceReport))).scalars().all()
    assert names not in repr(stored)  # names in the file are ignored, never stored


async def test_file_with_bad_rows_3_and_5_is_refused_naming_them_and_nothing_changes(client, world, database):
    lines = KOPRINKA.decode("cp1251").splitlines()
    lines[3] = lines[3].replace("2026-10", "2026-13")
    lines[5] = lines[5].replace(";6;", ";шест;")
    before = (await _count(database, AbsenceReport), await _count(database, Alert), await _count(database, AuditEvent))
    response = await client.post(
        "/api/v1/absence-reports/csv",
        content="\r\n".join(lines).encode("cp1251"),
        headers=await world.headers("school-koprinka.staff", **CSV),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(3, "month"), (5, "unexcused_hours")]
    after = (await _count(database, AbsenceReport), await _count(database, Alert))
    assert after == before[:2]


async def test_pupil_of_another_school_is_refused(client, world):
    response = await client.post(
        "/api/v1/absence-reports/csv", content=LUKOVIT, headers=await world.headers("school-koprinka.staff", **CSV)
    )
    assert response.status_code == 422
    assert {e["row"] for e in response.json()["errors"]} == set(range(1, 11))
    assert all(e["field"] == "pin" for e in response.json()["errors"])


async def test_resending_a_pupil_month_replaces_the_figure_and_updates_the_same_alert(client, world, database):
    headers = await world.headers("school-koprinka.staff")
    rows = [{"pin": "1152035081", "month": "2026-10", "unexcused_hours": 9, "excused_hours": 4}]
    first = await client.post("/api/v1/absence-reports", json={"rows": rows}, headers=headers)
    assert first.status_code == 201, first.text
    assert len(first.json()["alerts_raised"]) == 1
    rows[0]["unexcused_hours"] = 15
    second = await client.post("/api/v1/absence-reports", json={"rows": rows}, headers=headers)
    assert second.status_code == 201, second.text
    assert second.json()["alerts_raised"] == [] and second.json()["alerts_updated"] == first.json()["alerts_raised"]
    assert await _count(database, AbsenceReport) == 1
    assert await _count(database, Alert, Alert.type == "unexcused_absences") == 1
    alert = (await client.get(f"/api/v1/alerts/{first.json()['alerts_raised'][0]}", headers=headers)).json()
    assert alert["details"]["unexcused_hours"] == 15 and alert["version"] == 2


async def test_three_months_over_the_threshold_in_a_school_year_raise_dropout_risk(client, world):
    headers = await world.headers("school-koprinka.staff")
    for month in ("2026-09", "2026-10"):
        await client.post(
            "/api/v1/absence-reports",
            json={"rows": [{"pin": "1152035081", "month": month, "unexcused_hours": 8, "excused_hours": 0}]},
            headers=headers,
        )
    third = await client.post(
        "/api/v1/absence-reports",
        json={"rows": [{"pin": "1152035081", "month": "2026-11", "unexcused_hours": 7, "excused_hours": 0}]},
        headers=headers,
    )
    assert third.status_code == 201, third.text
    types = {}
    for alert_id in third.json()["alerts_raised"]:
        alert = (await client.get(f"/api/v1/alerts/{alert_id}", headers=headers)).json()
        types[alert["type"]] = alert["details"]
    assert types["dropout_risk"] == {"school_year": "2026/2027", "months_over_threshold": 3, "indicators": ["absences"]}


async def test_json_rows_errors_name_row_and_field_and_future_months_are_refused(client, world):
    response = await client.post(
        "/api/v1/absence-reports",
        json={
            "rows": [
                {"pin": "1152035081", "month": "2026-10", "unexcused_hours": 2, "excused_hours": 0},
                {"pin": "1152035082", "month": "2027-01", "unexcused_hours": 2.5, "excused_hours": -1},
            ]
        },
        headers=await world.headers("school-koprinka.staff"),
    )
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (2, "excused_hours"),
        (2, "month"),
        (2, "pin"),
        (2, "unexcused_hours"),
    ]


async def test_idempotency_key_replays_the_first_batch_result(client, world, database):
    headers = await world.headers("school-koprinka.staff", **CSV, **{"Idempotency-Key": "koprinka-2026-10"})
    first = await client.post("/api/v1/absence-reports/csv", content=KOPRINKA, headers=headers)
    second = await client.post("/api/v1/absence-reports/csv", content=KOPRINKA, headers=headers)
    assert second.status_code == 201 and second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    other = await client.post("/api/v1/absence-reports/csv", content=LUKOVIT, headers=headers)
    assert other.status_code == 422


async def test_a_replayed_batch_is_decided_again_and_audited_and_refused_once_the_role_is_gone(
    client, world, database
):
    headers = await world.headers("school-koprinka.staff", **CSV, **{"Idempotency-Key": "koprinka-2026-10"})
    first = await client.post("/api/v1/absence-reports/csv", content=KOPRINKA, headers=headers)
    assert first.status_code == 201, first.text
    batch = first.json()["id"]
    replay = AuditEvent.reason == "idempotent replay of an absence batch"
    assert await _count(database, AuditEvent, AuditEvent.resource_id == batch, replay) == 0
    second = await client.post("/api/v1/absence-reports/csv", content=KOPRINKA, headers=headers)
    assert second.status_code == 201 and second.headers.get("Idempotent-Replayed") == "true"
    assert await _count(database, AuditEvent, AuditEvent.resource_id == batch, replay) == 1

    async with database.transaction() as session:
        await session.execute(
            update(User).where(col(User.username) == "school-koprinka.staff").values(roles=["auditor"])
        )
    refused = await client.post("/api/v1/absence-reports/csv", content=KOPRINKA, headers=headers)
    assert refused.status_code == 403, refused.text
    assert "Idempotent-Replayed" not in refused.headers
    denied = AuditEvent.decision == "deny"
    assert await _count(database, AuditEvent, AuditEvent.resource_id == batch, denied) == 1


async def test_non_school_roles_cannot_submit_and_other_types_are_415(client, world):
    cp = await world.headers("cp-kazanlak.cp", **CSV)
    assert (await client.post("/api/v1/absence-reports/csv", content=KOPRINKA, headers=cp)).status_code == 403
    excel = await world.headers("school-koprinka.staff", **{"Content-Type": "application/vnd.ms-excel"})
    assert (await client.post("/api/v1/absence-reports/csv", content=KOPRINKA, headers=excel)).status_code == 415


async def test_absence_rules_are_data_the_admin_edits(client, world, admin):
    rules = (await client.get("/api/v1/absence-rules", headers=admin)).json()["items"]
    assert {(r["alert_type"], r["threshold_hours"], r["months"], r["unit"]) for r in rules} == {
        ("unexcused_absences", 5, 1, "hours"),
        ("dropout_risk", 5, 3, "hours"),
        # kindergartens count days: more than 3 unexcused days in a month
        ("unexcused_absences", 3, 1, "days"),
    }
    stricter = [{**r, "threshold_hours": 10} if (r["months"], r["unit"]) == (1, "hours") else r for r in rules]
    assert (await client.put("/api/v1/absence-rules", json={"items": stricter}, headers=admin)).status_code == 200
    response = await client.post(
        "/api/v1/absence-reports/csv", content=KOPRINKA, headers=await world.headers("school-koprinka.staff", **CSV)
    )
    assert len(response.json()["alerts_raised"]) == 1  # only the 14-hour pupil is over 10
    wrong = [{**rules[0], "alert_type": "abuse_or_neglect_suspected"}, rules[1]]
    assert (await client.put("/api/v1/absence-rules", json={"items": wrong}, headers=admin)).status_code == 422


async def test_a_pupil_over_two_monthly_thresholds_gets_one_alert_of_the_graver_severity(
    client, world, admin, database
):
    """A lower and a higher threshold for the same month: one alert per pupil and month, never a
    second one (which the open-alert key refuses) — the graver rule's severity wins."""
    rules = (await client.get("/api/v1/absence-rules", headers=admin)).json()["items"]
    graver = {"name": "monthly_grave", "alert_type": "unexcused_absences", "severity": "urgent",
              "threshold_hours": 10, "months": 1, "enabled": True, "unit": "hours"}
    both = {"items": [*rules, graver]}
    assert (await client.put("/api/v1/absence-rules", json=both, headers=admin)).status_code == 200
    response = await client.post(
        "/api/v1/absence-reports/csv", content=KOPRINKA, headers=await world.headers("school-koprinka.staff", **CSV)
    )
    assert response.status_code == 201, response.text
    raised = response.json()["alerts_raised"]
    assert len(raised) == 4  # the four pupils over 5 hours, each once
    async with database.transaction() as session:
        ids = [uuid.UUID(a) for a in raised]
        severities = sorted((await session.execute(select(Alert.severity).where(col(Alert.id).in_(ids)))).scalars())
    assert severities == ["concern", "concern", "concern", "urgent"]  # only the 14-hour pupil is over 10
