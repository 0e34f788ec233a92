"""Acknowledgement deadlines: each recipient has until `due_at` (urgent: 4 hours; concern: 3
working days; rules as data). The worker's deadline sweep flags a recipient that lets the deadline pass, tells
everyone concerned with `alert.overdue`, and escalates an overdue urgent alert to the
organisations the escalation rules name."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from service.alerts import repository as alerts_repository
from service.alerts.deadlines import add_working_days, sweep
from service.alerts.models import AlertRecipient
from service.app import create_app
from service.core.clock import LOCAL_ZONE, local_today, utcnow
from service.delivery.worker import Worker
from service.demo.loader import DEFAULT_DEMO_FILE, load_demo
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, by_organisation, pupil_id, raise_alert
from tests.conftest import OPERATOR, RUN_LOG, World, _Tee
from tests.delivery.receiver import receiver


@pytest.fixture
def insecure_settings(settings):
    return settings.model_copy(update={"webhooks_allow_insecure": True, "webhook_backoff_seconds": 0.001})


@pytest.fixture
def app(insecure_settings, database):
    app = create_app(insecure_settings, database=database, log_stream=_Tee(RUN_LOG))
    app.state.clock = local_today  # the service's own day, stated: deadlines run on real time
    return app


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _pass_deadline(database, alert_id: str, organisation_id: uuid.UUID) -> None:
    """Time passes: the recipient's deadline is now a minute ago."""
    async with database.transaction() as session:
        await session.execute(
            update(AlertRecipient)
            .where(AlertRecipient.alert_id == uuid.UUID(alert_id), AlertRecipient.organisation_id == organisation_id)
            .values(due_at=utcnow() - timedelta(minutes=1))
        )


async def _deliver_all(worker: Worker) -> None:
    for _ in range(20):
        if await worker.deliver_once() == 0:
            return


def test_working_days_skip_the_weekend_and_keep_the_local_time_of_day():
    friday = datetime(2026, 11, 27, 15, 30, tzinfo=LOCAL_ZONE)
    assert friday.weekday() == 4
    wednesday = add_working_days(friday, 3)
    assert (wednesday.date().isoformat(), wednesday.weekday(), wednesday.hour, wednesday.minute) == (
        "2026-12-02",
        2,
        15,
        30,
    )
    # stored times are UTC; the working days are counted in Bulgaria
    in_utc = add_working_days(friday.astimezone(UTC), 3)
    assert in_utc.tzinfo == UTC and in_utc == wednesday
    # a Friday evening that is already Saturday in Sofia counts from Saturday
    late_friday_utc = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    assert add_working_days(late_friday_utc, 3).astimezone(LOCAL_ZONE).date().isoformat() == "2026-12-02"
    assert add_working_days(datetime(2026, 11, 23, 9, tzinfo=LOCAL_ZONE), 3).date().isoformat() == "2026-11-26"
    assert add_working_days(datetime(2026, 11, 28, 9, tzinfo=LOCAL_ZONE), 1).date().isoformat() == "2026-11-30"
    # across the end of summer time (25 October 2026) the deadline is still 10:00 in Sofia
    before_dst_end = datetime(2026, 10, 23, 10, tzinfo=LOCAL_ZONE)
    after = add_working_days(before_dst_end.astimezone(UTC), 3).astimezone(LOCAL_ZONE)
    assert (after.date().isoformat(), after.hour) == ("2026-10-28", 10)


async def test_recipients_get_four_hours_for_urgent_and_three_working_days_for_concern(client, world):
    municipal = await world.headers("mun-kazanlak.municipal")
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])

    urgent = await raise_alert(client, municipal, child_id, "whereabouts_unknown", severity="urgent")
    assert len(urgent["recipients"]) == 2
    for recipient in urgent["recipients"]:
        assert _at(recipient["due_at"]) - _at(recipient["delivered_at"]) == timedelta(hours=4)
        assert recipient["overdue"] is False

    concern = await raise_alert(client, teacher, child_id)
    for recipient in concern["recipients"]:
        delivered = _at(recipient["delivered_at"])
        assert _at(recipient["due_at"]) == add_working_days(delivered, 3)
        assert timedelta(days=3) <= _at(recipient["due_at"]) - delivered <= timedelta(days=5)


async def test_missed_deadline_is_flagged_announced_and_escalated_and_an_acknowledged_one_is_not(
    client, world, admin, database, insecure_settings
):
    police_org = await world.organisation_id("police-kazanlak")
    municipality_org = await world.organisation_id("mun-kazanlak")
    cp_org = await world.organisation_id("cp-kazanlak")
    police = await world.headers("police-kazanlak.police")
    cp = await world.headers("cp-kazanlak.cp")
    municipal = await world.headers("mun-kazanlak.municipal")

    escalation = await client.put(
        "/api/v1/escalation-rules",
        json={"items": [{"severity": "urgent", "municipality_code": "SZR12", "organisation_id": str(cp_org)}]},
        headers=admin,
    )
    assert escalation.status_code == 200, escalation.text
    assert escalation.json()["items"][0]["organisation_id"] == str(cp_org)

    with receiver() as police_endpoint, receiver() as cp_endpoint:
        for org, endpoint in ((police_org, police_endpoint), (cp_org, cp_endpoint)):
            registered = await client.post(
                "/api/v1/webhooks",
                json={
                    "organisation_id": str(org),
                    "url": endpoint.url,
                    "events": ["alert.routed", "alert.updated", "alert.overdue"],
                },
                headers=admin,
            )
            assert registered.status_code == 201, registered.text

        child_id = await pupil_id(client, municipal, KOPRINKA_PUPIL_PINS[0])
        missed = await raise_alert(client, municipal, child_id, "whereabouts_unknown", severity="urgent")
        answered = await raise_alert(client, municipal, child_id, "whereabouts_unknown", severity="urgent")
        assert (await act(client, police, answered["id"], "acknowledge")).status_code == 200

        await _pass_deadline(database, missed["id"], police_org)
        await _pass_deadline(database, answered["id"], police_org)
        async with httpx.AsyncClient() as http:
            worker = Worker(insecure_settings, database, client=http)
            assert await sweep(database) == 1
            assert await sweep(database) == 0, "a recipient is flagged (and escalated) once"
            await _deliver_all(worker)

    # the police see that they missed the deadline, on the alert and first in their inbox
    seen_by_police = await client.get(f"/api/v1/alerts/{missed['id']}", headers=police)
    assert seen_by_police.status_code == 200, seen_by_police.text
    recipients = by_organisation(seen_by_police.json())
    assert recipients[str(police_org)]["overdue"] is True
    assert recipients[str(municipality_org)]["overdue"] is False  # its deadline has not passed
    assert seen_by_police.json()["version"] == missed["version"] + 1
    inbox = await client.get("/api/v1/inbox", headers=police)
    assert inbox.status_code == 200, inbox.text
    assert [a["id"] for a in inbox.json()["overdue"]] == [missed["id"]]

    # acknowledged in time: no mark
    answered_now = (await client.get(f"/api/v1/alerts/{answered['id']}", headers=police)).json()
    assert by_organisation(answered_now)[str(police_org)]["overdue"] is False
    assert str(cp_org) not in by_organisation(answered_now)

    # the escalation: child protection is now a recipient with a deadline of its own
    assert str(cp_org) in recipients
    escalated = recipients[str(cp_org)]
    assert (escalated["state"], escalated["lead"], escalated["overdue"]) == ("delivered", False, False)
    assert _at(escalated["due_at"]) - _at(escalated["delivered_at"]) == timedelta(hours=4)
    seen_by_cp = await client.get(f"/api/v1/alerts/{missed['id']}", headers=cp)
    assert seen_by_cp.status_code == 200, seen_by_cp.text
    cp_inbox = (await client.get("/api/v1/inbox", headers=cp)).json()
    assert missed["id"] in [item["alert"]["id"] for item in cp_inbox["items"] if item["kind"] == "alert"]

    # webhooks: the police hear of both routings, of their acknowledgement of one, and that they
    # let the other's deadline pass
    police_events = [json.loads(r.body) for r in police_endpoint.requests]
    assert {r.status for r in police_endpoint.requests} == {204}
    per_alert = {
        alert["id"]: [p["type"] for p in police_events if p["alert_id"] == alert["id"]] for alert in (missed, answered)
    }
    assert per_alert == {
        missed["id"]: ["alert.routed", "alert.overdue"],
        answered["id"]: ["alert.routed", "alert.updated"],
    }
    overdue_event = next(p for p in police_events if p["type"] == "alert.overdue")
    assert (overdue_event["severity"], overdue_event["status"]) == ("urgent", "open")
    # child protection is told the alert was routed to it, for the missed alert only
    cp_events = [json.loads(r.body) for r in cp_endpoint.requests]
    assert [(p["type"], p["alert_id"], p["severity"]) for p in cp_events] == [("alert.routed", missed["id"], "urgent")]


async def test_deadline_rules_are_data_edited_by_the_administrator(client, world, admin):
    defaults = await client.get("/api/v1/deadline-rules", headers=admin)
    assert defaults.status_code == 200, defaults.text
    assert {r["severity"]: (r["hours"], r["working_days"]) for r in defaults.json()["items"]} == {
        "urgent": (4, None),
        "concern": (None, 3),
    }

    changed = await client.put(
        "/api/v1/deadline-rules",
        json={"items": [{"severity": "urgent", "hours": 1}, {"severity": "info", "working_days": 10}]},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert {r["severity"] for r in changed.json()["items"]} == {"urgent", "info"}

    municipal = await world.headers("mun-kazanlak.municipal")
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[1])
    urgent = await raise_alert(client, municipal, child_id, "whereabouts_unknown", severity="urgent")
    assert {_at(r["due_at"]) - _at(r["delivered_at"]) for r in urgent["recipients"]} == {timedelta(hours=1)}
    concern = await raise_alert(client, teacher, child_id)  # concern: no rule any more, no deadline
    assert {r["due_at"] for r in concern["recipients"]} == {None}

    for body, pointer_hint in [
        ({"items": [{"severity": "urgent", "hours": 4, "working_days": 1}]}, "both measures"),
        ({"items": [{"severity": "urgent"}]}, "no measure"),
        ({"items": [{"severity": "urgent", "hours": 0}]}, "zero hours"),
        ({"items": [{"severity": "critical", "hours": 4}]}, "unknown severity"),
        ({"items": [{"severity": "urgent", "hours": 4}, {"severity": "urgent", "hours": 2}]}, "listed twice"),
        ({"items": [{"severity": "urgent", "hours": 4, "escalate": True}]}, "unknown field"),
    ]:
        rejected = await client.put("/api/v1/deadline-rules", json=body, headers=admin)
        assert rejected.status_code == 422, (pointer_hint, rejected.text)
        assert rejected.headers["content-type"].startswith("application/problem+json"), pointer_hint
    # nothing was changed by the rejected bodies
    kept = (await client.get("/api/v1/deadline-rules", headers=admin)).json()["items"]
    assert {r["severity"]: r["hours"] for r in kept} == {"urgent": 1, "info": None}

    cp = await world.headers("cp-kazanlak.cp")
    for method, path in [
        ("GET", "/api/v1/deadline-rules"),
        ("PUT", "/api/v1/deadline-rules"),
        ("GET", "/api/v1/escalation-rules"),
        ("PUT", "/api/v1/escalation-rules"),
    ]:
        response = await client.request(method, path, json={"items": []} if method == "PUT" else None, headers=cp)
        assert response.status_code == 403, (method, path, response.text)


async def test_escalation_rules_name_existing_organisations_and_valid_municipalities(client, world, admin):
    cp_org = str(await world.organisation_id("cp-kazanlak"))
    unknown = await client.put(
        "/api/v1/escalation-rules",
        json={"items": [{"severity": "urgent", "organisation_id": str(uuid.uuid4())}]},
        headers=admin,
    )
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["errors"][0]["pointer"] == "#/items/0/organisation_id"
    bad_code = await client.put(
        "/api/v1/escalation-rules",
        json={"items": [{"severity": "urgent", "municipality_code": "Kazanlak", "organisation_id": cp_org}]},
        headers=admin,
    )
    assert bad_code.status_code == 422, bad_code.text
    everywhere = await client.put(
        "/api/v1/escalation-rules", json={"items": [{"severity": "urgent", "organisation_id": cp_org}]}, headers=admin
    )
    assert everywhere.status_code == 200, everywhere.text
    assert everywhere.json()["items"] == [{"severity": "urgent", "municipality_code": None, "organisation_id": cp_org}]


async def test_deadline_check_never_overwrites_a_concurrent_change_to_the_alert(committed_database, settings):
    """An officer's change to the alert is committing while the worker finds the alert overdue:
    both changes count (each bumps the version the ETag is made of); neither is lost."""
    app = create_app(settings, database=committed_database, log_stream=_Tee(RUN_LOG))
    await load_demo(settings=settings, database=committed_database, path=DEFAULT_DEMO_FILE, actor=OPERATOR)
    world = World(app, committed_database)
    municipal = await world.headers("mun-kazanlak.municipal")
    police = await world.headers("police-kazanlak.police")
    police_org = await world.organisation_id("police-kazanlak")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as api:
        child_id = await pupil_id(api, municipal, KOPRINKA_PUPIL_PINS[0])
        alert = await raise_alert(api, municipal, child_id, "whereabouts_unknown", severity="urgent")
        await _pass_deadline(committed_database, alert["id"], police_org)

        async with committed_database.transaction() as session:
            # another change holds the alert's row lock, as acknowledge/actions/close do
            row = await alerts_repository.get_alert(session, uuid.UUID(alert["id"]), for_update=True)
            assert row is not None
            row.version += 1
            row.updated_at = utcnow()
            await session.flush()
            checking = asyncio.create_task(sweep(committed_database))
            await asyncio.sleep(0.5)
        marked = await asyncio.wait_for(checking, timeout=15)
        if marked == 0:  # the worker stepped around the locked alert; the next round marks it
            marked = await sweep(committed_database)
        assert marked == 1

        final = await api.get(f"/api/v1/alerts/{alert['id']}", headers=police)
        assert final.status_code == 200, final.text
        assert by_organisation(final.json())[str(police_org)]["overdue"] is True
        assert final.json()["version"] == alert["version"] + 2, "a change to the alert was overwritten"


async def test_escalation_rules_apply_to_the_severity_they_name(client, world, admin, database, insecure_settings):
    """A rule for `concern` escalates an overdue concern alert; an urgent one it does not name."""
    directorate = await client.post(
        "/api/v1/organisations",
        json={
            "code": "rdsp-stara-zagora",
            "kind": "child_protection",
            "name": "Регионална дирекция за социално подпомагане – Стара Загора",
            "municipality_codes": ["SZR31"],
        },
        headers=admin,
    )
    assert directorate.status_code == 201, directorate.text
    directorate_id = directorate.json()["id"]
    rules = await client.put(
        "/api/v1/escalation-rules",
        json={"items": [{"severity": "concern", "municipality_code": "SZR12", "organisation_id": directorate_id}]},
        headers=admin,
    )
    assert rules.status_code == 200, rules.text

    teacher = await world.headers("school-koprinka.staff")
    municipal = await world.headers("mun-kazanlak.municipal")
    cp = await world.headers("cp-kazanlak.cp")
    with receiver() as endpoint:
        hook = await client.post(
            "/api/v1/webhooks",
            json={"organisation_id": directorate_id, "url": endpoint.url, "events": ["alert.routed", "alert.overdue"]},
            headers=admin,
        )
        assert hook.status_code == 201, hook.text
        child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[2])
        concern = await raise_alert(client, teacher, child_id)
        urgent = await raise_alert(client, municipal, child_id, "whereabouts_unknown", severity="urgent")
        await _pass_deadline(database, concern["id"], await world.organisation_id("cp-kazanlak"))
        await _pass_deadline(database, urgent["id"], await world.organisation_id("police-kazanlak"))
        async with httpx.AsyncClient() as http:
            worker = Worker(insecure_settings, database, client=http)
            assert await sweep(database) == 2
            await _deliver_all(worker)

    escalated = by_organisation((await client.get(f"/api/v1/alerts/{concern['id']}", headers=cp)).json())
    assert directorate_id in escalated
    added = escalated[directorate_id]
    assert _at(added["due_at"]) == add_working_days(_at(added["delivered_at"]), 3)
    police = await world.headers("police-kazanlak.police")
    not_named = by_organisation((await client.get(f"/api/v1/alerts/{urgent['id']}", headers=police)).json())
    assert directorate_id not in not_named
    assert [(json.loads(r.body)["type"], json.loads(r.body)["alert_id"]) for r in endpoint.requests] == [
        ("alert.routed", concern["id"])
    ]
