"""A worker that dies mid-batch loses nothing: its leases expire and another worker delivers
what it held (at least once; the `webhook-id` lets the receiver drop a repeat). A worker told to
stop (SIGTERM) finishes and records the batch in hand, then exits cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from service.app import create_app
from service.core.clock import utcnow
from service.delivery.models import OutboxDelivery
from service.delivery.worker import Worker
from service.demo.loader import DEFAULT_DEMO_FILE, load_demo
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, pupil_id, raise_alert
from tests.conftest import OPERATOR, RUN_LOG, World, _Tee
from tests.delivery.receiver import receiver

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def insecure_settings(settings):
    return settings.model_copy(update={"webhooks_allow_insecure": True, "webhook_backoff_seconds": 0.001})


@pytest.fixture
def app(insecure_settings, database):
    return create_app(insecure_settings, database=database, log_stream=_Tee(RUN_LOG))


async def _deliveries(database, webhook_id: uuid.UUID) -> list[OutboxDelivery]:
    async with database.transaction() as session:
        return list(
            (
                await session.execute(
                    select(OutboxDelivery).where(OutboxDelivery.webhook_id == webhook_id).order_by(OutboxDelivery.seq)
                )
            ).scalars()
        )


async def _expire_leases(database) -> None:
    """What the passing of `worker_lease_seconds` does to a dead worker's claims."""
    async with database.transaction() as session:
        await session.execute(
            update(OutboxDelivery)
            .where(OutboxDelivery.status == "in_flight")
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )


async def test_deliveries_claimed_by_a_killed_worker_are_delivered_after_the_lease_expires(
    client, world, admin, database, insecure_settings
):
    police_org = str(await world.organisation_id("police-kazanlak"))
    police = await world.headers("police-kazanlak.police")
    municipal = await world.headers("mun-kazanlak.municipal")
    with receiver() as endpoint:
        registered = await client.post(
            "/api/v1/webhooks",
            json={"organisation_id": police_org, "url": endpoint.url, "events": ["alert.routed", "alert.updated"]},
            headers=admin,
        )
        assert registered.status_code == 201, registered.text
        webhook_id = uuid.UUID(registered.json()["id"])
        alerts = []
        for pin in (*KOPRINKA_PUPIL_PINS, KOPRINKA_PUPIL_PINS[0]):
            child_id = await pupil_id(client, municipal, pin)
            alerts.append(await raise_alert(client, municipal, child_id, "whereabouts_unknown", severity="urgent"))
        # the first alert also has a later event, queued behind its routing
        assert (await act(client, police, alerts[0]["id"], "acknowledge")).status_code == 200

        async with httpx.AsyncClient() as http:
            doomed = Worker(insecure_settings, database, client=http)
            claimed = await doomed.claim()
            # four routings; the acknowledgement waits for its alert's routing
            assert sorted(str(c.payload["alert_id"]) for c in claimed) == sorted(a["id"] for a in alerts)
            assert {c.payload["type"] for c in claimed} == {"alert.routed"}
            # it got two requests out, then was killed (kill -9) before recording anything
            for item in claimed[:2]:
                assert (await doomed.send(item)).delivered
            sent_before_the_crash = [str(c.delivery_id) for c in claimed[:2]]

            survivor = Worker(insecure_settings, database, client=http)
            assert await survivor.deliver_once() == 0, "a live lease must keep other workers off"
            assert len(endpoint.requests) == 2

            await _expire_leases(database)
            for _ in range(10):
                if await survivor.deliver_once() == 0:
                    break

    queued = await _deliveries(database, webhook_id)
    assert len(queued) == 5
    received_ids = [r.headers["webhook-id"] for r in endpoint.requests]
    # nothing lost: after deduplication by webhook-id the receiver has every event exactly once
    assert set(received_ids) == {str(d.id) for d in queued}
    assert {json.loads(r.body)["id"] for r in endpoint.requests} == {str(d.event_id) for d in queued}
    # at least once: what was sent before the crash came again, with the same webhook-id
    assert sorted(i for i in received_ids if received_ids.count(i) > 1) == sorted(sent_before_the_crash * 2)
    assert all(r.status == 204 for r in endpoint.requests)
    # the acknowledgement of the first alert still came after its routing
    first_alert = [
        json.loads(r.body)["type"] for r in endpoint.requests if json.loads(r.body)["alert_id"] == alerts[0]["id"]
    ]
    assert first_alert[-2:] == ["alert.routed", "alert.updated"]
    assert {d.status for d in queued} == {"delivered"}
    assert sorted(d.attempts for d in queued) == [1, 2, 2, 2, 2]  # the four claimed twice

    log = (await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=admin)).json()["items"]
    # the dead worker recorded nothing; the survivor one successful attempt per event
    assert sorted(a["delivery_id"] for a in log) == sorted(str(d.id) for d in queued)
    assert {(a["status_code"], a["delivery_status"]) for a in log} == {(204, "delivered")}


def _worker_env(database, settings, data_dir: Path) -> dict[str, str]:
    url = database.engine.url.render_as_string(hide_password=False).replace("postgresql+psycopg", "postgresql")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBHVAT_")}
    env.update(
        {
            "OBHVAT_DATABASE_URL": url,
            "OBHVAT_DATA_DIR": str(data_dir),
            "OBHVAT_KEYS_DIR": str(settings.keys_dir),
            "OBHVAT_PIN_SECRET": settings.pin_secret,
            "OBHVAT_ENVIRONMENT": "test",
            "OBHVAT_WEBHOOKS_ALLOW_INSECURE": "true",
            "OBHVAT_WEBHOOK_BACKOFF_SECONDS": "0.001",
            "OBHVAT_WORKER_POLL_SECONDS": "0.05",
            "OBHVAT_WORKER_BATCH_SIZE": "3",
            "OBHVAT_LOG_FORMAT": "json",
        }
    )
    return env


@pytest.fixture
def postgresql_only(engine_name):
    """Listed before `committed_database`, so SQLite skips before a database is built."""
    if engine_name != "postgresql":
        pytest.skip("worker processes are run against PostgreSQL, the production engine")


async def test_worker_process_stops_cleanly_on_sigterm_and_the_next_run_delivers_the_rest(
    postgresql_only, committed_database, settings, tmp_path
):
    settings = settings.model_copy(update={"webhooks_allow_insecure": True})
    app = create_app(settings, database=committed_database, log_stream=_Tee(RUN_LOG))
    await load_demo(settings=settings, database=committed_database, path=DEFAULT_DEMO_FILE, actor=OPERATOR)
    world = World(app, committed_database)
    admin = await world.headers("platform.admin")
    municipal = await world.headers("mun-kazanlak.municipal")
    police_org = str(await world.organisation_id("police-kazanlak"))
    backlog = 24
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with receiver(delay=0.15) as endpoint:
        async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as api:
            registered = await api.post(
                "/api/v1/webhooks",
                json={"organisation_id": police_org, "url": endpoint.url, "events": ["alert.routed"]},
                headers=admin,
            )
            assert registered.status_code == 201, registered.text
            webhook_id = uuid.UUID(registered.json()["id"])
            children = [await pupil_id(api, municipal, pin) for pin in KOPRINKA_PUPIL_PINS]
            for number in range(backlog):
                await raise_alert(
                    api, municipal, children[number % len(children)], "whereabouts_unknown", severity="urgent"
                )

        env = _worker_env(committed_database, settings, tmp_path / "worker-data")
        command = [sys.executable, "-m", "service.cli", "worker"]
        output = tmp_path / "worker.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(command, env=env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603
            try:
                for _ in range(400):  # up to 20 s for the process to start and deliver a few
                    if len(endpoint.requests) >= 4 or process.poll() is not None:
                        break
                    await asyncio.sleep(0.05)
                assert process.poll() is None, output.read_text()
                assert len(endpoint.requests) >= 4, output.read_text()
                process.send_signal(signal.SIGTERM)
                code = await asyncio.to_thread(process.wait, 5)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        assert code == 0, output.read_text()
        before_restart = len(endpoint.requests)
        assert before_restart < backlog, "the worker should have been stopped part-way through the backlog"

        # the batch in hand was finished and recorded: nothing is left leased to the stopped worker
        after_stop = await _deliveries(committed_database, webhook_id)
        assert "in_flight" not in {d.status for d in after_stop}
        assert sum(d.status == "delivered" for d in after_stop) == before_restart

        finished = await asyncio.to_thread(
            subprocess.run,
            [*command, "--once"],
            env=env,
            cwd=REPO,
            capture_output=True,
            timeout=60,
        )
        assert finished.returncode == 0, finished.stdout.decode() + finished.stderr.decode()

    queued = await _deliveries(committed_database, webhook_id)
    assert len(queued) == backlog
    received = [r.headers["webhook-id"] for r in endpoint.requests]
    assert sorted(received) == sorted(str(d.id) for d in queued), "an event was lost or sent twice"
    assert {d.status for d in queued} == {"delivered"}
