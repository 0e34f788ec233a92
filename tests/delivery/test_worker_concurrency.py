"""Two outbox workers share one backlog (as `obhvat worker` runs several at once): a receiving
agency gets every event exactly once, and each alert's events in the order they happened.

On PostgreSQL the workers' claims race under FOR UPDATE SKIP LOCKED; on SQLite writers are
serialised by BEGIN IMMEDIATE. Both must give the receiver the same experience."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict

import httpx
from sqlalchemy import select

from service.app import create_app
from service.delivery.models import OutboxDelivery
from service.delivery.worker import Worker
from service.demo.loader import DEFAULT_DEMO_FILE, load_demo
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS
from tests.conftest import OPERATOR, RUN_LOG, World, _Tee
from tests.delivery.receiver import receiver

ALERTS = 30
EVENT_ORDER = ["alert.routed", "alert.updated", "alert.closed"]


async def _work_until_nothing_due(worker: Worker, delivered: list[int]) -> None:
    """deliver_once until it finds nothing due twice in a row (the other worker may still be
    sending a predecessor that blocks the next event of an alert)."""
    idle = 0
    while idle < 3:
        sent = await worker.deliver_once()
        delivered.append(sent)
        if sent:
            idle = 0
        else:
            idle += 1
            await asyncio.sleep(0.05)


async def test_two_workers_deliver_a_backlog_exactly_once_and_in_order_per_alert(committed_database, settings):
    settings = settings.model_copy(
        update={"webhooks_allow_insecure": True, "webhook_backoff_seconds": 0.001, "worker_batch_size": 7}
    )
    app = create_app(settings, database=committed_database, log_stream=_Tee(RUN_LOG))
    await load_demo(settings=settings, database=committed_database, path=DEFAULT_DEMO_FILE, actor=OPERATOR)
    world = World(app, committed_database)
    admin = await world.headers("platform.admin")
    teacher = await world.headers("school-koprinka.staff")
    cp = await world.headers("cp-kazanlak.cp")
    cp_org = str(await world.organisation_id("cp-kazanlak"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with receiver(delay=0.02) as endpoint:
        async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as api:
            registered = await api.post(
                "/api/v1/webhooks",
                json={"organisation_id": cp_org, "url": endpoint.url, "events": EVENT_ORDER},
                headers=admin,
            )
            assert registered.status_code == 201, registered.text
            webhook_id = uuid.UUID(registered.json()["id"])

            children = []
            for pin in KOPRINKA_PUPIL_PINS:
                found = await api.post("/api/v1/children/lookup", json={"pin": pin}, headers=teacher)
                assert found.status_code == 200, found.text
                children.append(found.json()["id"])

            # The backlog: every alert raised, acknowledged and closed before any worker runs,
            # so all three events of each alert are due at once.
            alert_ids = []
            for number in range(ALERTS):
                raised = await api.post(
                    "/api/v1/alerts",
                    json={
                        "child_id": children[number % len(children)],
                        "type": "unexcused_absences",
                        "details": {"month": "2026-10", "unexcused_hours": 6 + number},
                    },
                    headers=teacher,
                )
                assert raised.status_code == 201, raised.text
                alert_ids.append(raised.json()["id"])
            for alert_id in alert_ids:
                etag = f'"{(await api.get(f"/api/v1/alerts/{alert_id}", headers=cp)).json()["version"]}"'
                acked = await api.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers={**cp, "If-Match": etag})
                assert acked.status_code == 200, acked.text
                closed = await api.post(
                    f"/api/v1/alerts/{alert_id}/close",
                    json={"outcome": "returned_to_school"},
                    headers={**cp, "If-Match": acked.headers["ETag"]},
                )
                assert closed.status_code == 200, closed.text

        async with committed_database.transaction() as session:
            queued = {
                str(d.id): d.event_type
                for d in (
                    await session.execute(select(OutboxDelivery).where(OutboxDelivery.webhook_id == webhook_id))
                ).scalars()
            }
        assert len(queued) == ALERTS * 3

        async with httpx.AsyncClient() as http_a, httpx.AsyncClient() as http_b:
            first, second = (
                Worker(settings, committed_database, client=http_a),
                Worker(settings, committed_database, client=http_b),
            )
            sent_by_first: list[int] = []
            sent_by_second: list[int] = []
            await asyncio.wait_for(
                asyncio.gather(
                    _work_until_nothing_due(first, sent_by_first), _work_until_nothing_due(second, sent_by_second)
                ),
                timeout=60,
            )

    received = list(endpoint.requests)
    ids = [r.headers["webhook-id"] for r in received]
    assert sorted(ids) == sorted(queued), "an event was lost, or a webhook-id arrived twice"
    assert {r.status for r in received} == {204}
    assert sum(sent_by_first) + sum(sent_by_second) == ALERTS * 3
    assert sum(sent_by_first) > 0 and sum(sent_by_second) > 0, "both workers should have taken a share"

    per_alert: dict[str, list[str]] = defaultdict(list)
    for request in received:
        payload = json.loads(request.body)
        assert payload["type"] == queued[request.headers["webhook-id"]]
        per_alert[payload["alert_id"]].append(payload["type"])
    assert set(per_alert) == set(alert_ids)
    out_of_order = {a: types for a, types in per_alert.items() if types != EVENT_ORDER}
    assert not out_of_order, f"events of an alert arrived out of order: {out_of_order}"

    async with committed_database.transaction() as session:
        rows = (
            await session.execute(
                select(OutboxDelivery.status, OutboxDelivery.attempts).where(OutboxDelivery.webhook_id == webhook_id)
            )
        ).all()
    assert {(status, attempts) for status, attempts in rows} == {("delivered", 1)}
