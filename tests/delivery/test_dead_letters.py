"""An endpoint that keeps failing: after the last attempt the event is dead-lettered (shown in
the delivery log), later events of the alert still go out, and an administrator can redeliver
the dead one once the receiving system is fixed."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from sqlalchemy import select

from service.app import create_app
from service.delivery.models import OutboxDelivery
from service.delivery.worker import Worker
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, pupil_id, raise_alert
from tests.conftest import RUN_LOG, _Tee
from tests.delivery.receiver import receiver

MAX_ATTEMPTS = 3


@pytest.fixture
def insecure_settings(settings):
    return settings.model_copy(
        update={"webhooks_allow_insecure": True, "webhook_backoff_seconds": 0.001, "webhook_max_attempts": MAX_ATTEMPTS}
    )


@pytest.fixture
def app(insecure_settings, database):
    return create_app(insecure_settings, database=database, log_stream=_Tee(RUN_LOG))


async def _deliver_until_quiet(worker: Worker) -> None:
    import asyncio

    quiet = 0
    for _ in range(50):
        if await worker.deliver_once():
            quiet = 0
            continue
        quiet += 1
        if quiet == 2:
            return
        await asyncio.sleep(0.02)  # let a backoff (milliseconds here) pass


async def test_failing_endpoint_dead_letters_after_max_attempts_without_blocking_the_alert_and_redelivers(
    client, world, admin, database, insecure_settings
):
    police_org = str(await world.organisation_id("police-kazanlak"))
    police = await world.headers("police-kazanlak.police")
    municipal = await world.headers("mun-kazanlak.municipal")
    with receiver(default_status=500) as endpoint:
        registered = await client.post(
            "/api/v1/webhooks",
            json={"organisation_id": police_org, "url": endpoint.url, "events": ["alert.routed", "alert.updated"]},
            headers=admin,
        )
        assert registered.status_code == 201, registered.text
        hook = registered.json()["id"]
        deliveries_url = f"/api/v1/webhooks/{hook}/deliveries"
        child_id = await pupil_id(client, municipal, KOPRINKA_PUPIL_PINS[0])
        alert = await raise_alert(client, municipal, child_id, "whereabouts_unknown", severity="urgent")

        async with httpx.AsyncClient() as http:
            worker = Worker(insecure_settings, database, client=http)
            await _deliver_until_quiet(worker)

            # three tries of the same message, then the worker gives up on it
            assert [r.status for r in endpoint.requests] == [500] * MAX_ATTEMPTS
            assert len({r.headers["webhook-id"] for r in endpoint.requests}) == 1
            log = await client.get(deliveries_url, headers=admin)
            assert log.status_code == 200, log.text
            attempts = log.json()["items"]
            assert len(attempts) == MAX_ATTEMPTS
            assert {(a["delivery_status"], a["status_code"], a["error"]) for a in attempts} == {
                ("dead", 500, "HTTP 500")
            }
            assert {a["event_type"] for a in attempts} == {"alert.routed"}
            dead_id = attempts[0]["delivery_id"]
            routed_event = attempts[0]["event_id"]

            # the receiving system is fixed; the police acknowledge the alert meanwhile: that
            # event is not held back behind the dead routing
            endpoint.default_status = 204
            assert (await act(client, police, alert["id"], "acknowledge")).status_code == 200
            await _deliver_until_quiet(worker)
            delivered = [json.loads(r.body) for r in endpoint.requests if r.status == 204]
            assert [(p["type"], p["alert_id"]) for p in delivered] == [("alert.updated", alert["id"])]

            # an administrator redelivers the dead letter; asking again while it is queued is a conflict
            redeliver_url = f"{deliveries_url}/{dead_id}/redeliver"
            assert (await client.post(redeliver_url, headers=admin)).status_code == 202
            again = await client.post(redeliver_url, headers=admin)
            assert again.status_code == 409, again.text
            assert again.headers["content-type"].startswith("application/problem+json")
            await _deliver_until_quiet(worker)

    final = [r for r in endpoint.requests if r.status == 204]
    assert [json.loads(r.body)["type"] for r in final] == ["alert.updated", "alert.routed"]
    redelivered = final[-1]
    assert redelivered.headers["webhook-id"] == dead_id  # the same message, so a receiver can deduplicate
    assert json.loads(redelivered.body)["id"] == routed_event
    # the routing went out four times in all (three failures and the redelivery), and once delivered
    assert [r.headers["webhook-id"] for r in endpoint.requests].count(dead_id) == MAX_ATTEMPTS + 1

    log = (await client.get(deliveries_url, headers=admin)).json()["items"]
    routed = [a for a in log if a["delivery_id"] == dead_id]
    assert sorted(a["status_code"] for a in routed) == [204, 500, 500, 500]
    assert {a["delivery_status"] for a in routed} == {"delivered"}


async def test_redelivery_is_only_for_the_webhooks_own_settled_deliveries(
    client, world, admin, database, insecure_settings
):
    police_org = str(await world.organisation_id("police-kazanlak"))
    municipal = await world.headers("mun-kazanlak.municipal")
    with receiver(default_status=503) as endpoint:
        hook = (
            await client.post(
                "/api/v1/webhooks",
                json={"organisation_id": police_org, "url": endpoint.url, "events": ["alert.routed"]},
                headers=admin,
            )
        ).json()["id"]
        child_id = await pupil_id(client, municipal, KOPRINKA_PUPIL_PINS[1])
        await raise_alert(client, municipal, child_id, "whereabouts_unknown", severity="urgent")
        async with httpx.AsyncClient() as http:
            # one failed attempt: the delivery is pending again, waiting for its retry
            assert await Worker(insecure_settings, database, client=http).deliver_once() == 1
        log = (await client.get(f"/api/v1/webhooks/{hook}/deliveries", headers=admin)).json()["items"]
        assert [(a["delivery_status"], a["status_code"]) for a in log] == [("pending", 503)]
        pending = log[0]["delivery_id"]

    redeliver = f"/api/v1/webhooks/{hook}/deliveries/{pending}/redeliver"
    assert (await client.post(redeliver, headers=admin)).status_code == 409
    unknown = f"/api/v1/webhooks/{hook}/deliveries/{uuid.uuid4()}/redeliver"
    assert (await client.post(unknown, headers=admin)).status_code == 404
    # another organisation's administrator cannot see or requeue it
    school_admin = await world.headers("school-koprinka.admin")
    assert (await client.post(redeliver, headers=school_admin)).status_code == 404
    # a caseworker manages no webhooks at all
    assert (await client.post(redeliver, headers=await world.headers("police-kazanlak.police"))).status_code == 403


async def test_a_removed_endpoint_gets_no_more_attempts_even_for_what_was_in_flight(
    client, world, admin, database, insecure_settings
):
    police_org = str(await world.organisation_id("police-kazanlak"))
    municipal = await world.headers("mun-kazanlak.municipal")
    with receiver(default_status=503) as endpoint:
        hook = (
            await client.post(
                "/api/v1/webhooks",
                json={"organisation_id": police_org, "url": endpoint.url, "events": ["alert.routed"]},
                headers=admin,
            )
        ).json()["id"]
        child_id = await pupil_id(client, municipal, KOPRINKA_PUPIL_PINS[2])
        await raise_alert(client, municipal, child_id, "whereabouts_unknown", severity="urgent")
        async with httpx.AsyncClient() as http:
            worker = Worker(insecure_settings, database, client=http)
            claimed = await worker.claim()
            assert len(claimed) == 1
            # the agency removes the endpoint while the worker is sending to it
            assert (await client.delete(f"/api/v1/webhooks/{hook}", headers=admin)).status_code == 204
            await worker.record([await worker.send(item) for item in claimed])
            await _deliver_until_quiet(worker)
    assert len(endpoint.requests) == 1, "the removed endpoint was tried again"
    async with database.transaction() as session:
        settled = (
            await session.execute(
                select(OutboxDelivery.status, OutboxDelivery.attempts).where(
                    OutboxDelivery.webhook_id == uuid.UUID(hook)
                )
            )
        ).all()
    assert [tuple(row) for row in settled] == [("cancelled", 1)]
