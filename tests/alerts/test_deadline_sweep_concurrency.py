"""The deadline sweep against officers' changes to other alerts, on PostgreSQL with real commits.

The sweep and every request change alerts through the same `record_change`, so they take the
audit trail and the feed in the same order: neither can deadlock with the other (the sweep once
took the feed's lock before the audit's while requests took them the other way round)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from service.alerts.deadlines import sweep
from service.alerts.models import AlertRecipient
from service.core.clock import utcnow
from service.demo.loader import DEFAULT_DEMO_FILE, load_demo
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, by_organisation, pupil_id, raise_alert
from tests.conftest import OPERATOR, World, make_app

pytestmark = pytest.mark.postgres_only

OVERDUE = 8
WORKED = 8


async def test_the_deadline_sweep_runs_beside_changes_to_other_alerts_without_deadlock(committed_database, settings):
    app = make_app(settings, committed_database)
    await load_demo(settings=settings, database=committed_database, path=DEFAULT_DEMO_FILE, actor=OPERATOR)
    world = World(app, committed_database)
    admin = await world.headers("platform.admin")
    municipal = await world.headers("mun-kazanlak.municipal")
    police = await world.headers("police-kazanlak.police")
    police_org = await world.organisation_id("police-kazanlak")
    cp_org = await world.organisation_id("cp-kazanlak")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as client:
        rules = await client.put(
            "/api/v1/escalation-rules",
            json={"items": [{"severity": "urgent", "organisation_id": str(cp_org)}]},
            headers=admin,
        )
        assert rules.status_code == 200, rules.text
        child_id = await pupil_id(client, municipal, KOPRINKA_PUPIL_PINS[0])
        raised = [
            await raise_alert(client, municipal, child_id, "whereabouts_unknown", severity="urgent")
            for _ in range(OVERDUE + WORKED)
        ]
        overdue, worked = raised[:OVERDUE], raised[OVERDUE:]
        async with committed_database.transaction() as session:
            await session.execute(
                update(AlertRecipient)
                .where(
                    col(AlertRecipient.alert_id).in_([uuid.UUID(a["id"]) for a in overdue]),
                    AlertRecipient.organisation_id == police_org,
                )
                .values(due_at=utcnow() - timedelta(minutes=1))
            )

        writers_done = asyncio.Event()

        async def work(alert_id: str) -> list[int]:
            statuses = [(await act(client, police, alert_id, "acknowledge")).status_code]
            statuses.append(
                (await act(client, police, alert_id, "actions", {"kind": "note", "text": "Търсим детето."})).status_code
            )
            statuses.append(
                (await act(client, police, alert_id, "close", {"outcome": "unfounded"})).status_code
            )
            return statuses

        async def sweeping() -> int:
            marked = 0
            while not writers_done.is_set() or marked < OVERDUE:
                marked += await sweep(committed_database)
                await asyncio.sleep(0.01)
            return marked

        sweeper = asyncio.create_task(sweeping())
        statuses = await asyncio.wait_for(asyncio.gather(*(work(a["id"]) for a in worked)), timeout=120)
        writers_done.set()
        marked = await asyncio.wait_for(sweeper, timeout=120)

        assert statuses == [[200, 200, 200]] * WORKED
        assert marked == OVERDUE, "every missed deadline is marked once"
        for alert in overdue:
            seen = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=police)).json()
            recipients = by_organisation(seen)
            assert recipients[str(police_org)]["overdue"] is True
            assert str(cp_org) in recipients, "the overdue urgent alert is escalated"
            assert seen["version"] == 2
        for alert in worked:
            seen = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=police)).json()
            assert seen["version"] == 4 and seen["status"] == "closed"
