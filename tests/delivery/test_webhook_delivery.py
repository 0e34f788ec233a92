"""Issue [6/9]: signed webhooks through the transactional outbox, with a real local receiver."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook as StandardWebhook

from service.delivery.worker import Worker
from tests.delivery.receiver import receiver

KOPRINKA_PUPIL_PIN = "1152035081"


@pytest.fixture
def insecure_settings(settings):
    """Webhooks to http://127.0.0.1 are allowed only for development and tests."""
    return settings.model_copy(update={"webhooks_allow_insecure": True, "webhook_backoff_seconds": 0.001})


@pytest.fixture
def app(insecure_settings, database):
    from service.app import create_app
    from tests.conftest import RUN_LOG, _Tee

    return create_app(insecure_settings, database=database, log_stream=_Tee(RUN_LOG))


async def _deliver_until_quiet(worker: Worker, rounds: int = 20) -> None:
    import asyncio

    for _ in range(rounds):
        if await worker.deliver_once() == 0:
            await asyncio.sleep(0.01)
            if await worker.deliver_once() == 0:
                return


async def test_urgent_alert_reaches_kazanlak_police_signed_after_two_503s(
    client, world, admin, database, insecure_settings
):
    police_org = str(await world.organisation_id("police-kazanlak"))
    municipal = await world.headers("mun-kazanlak.municipal")
    with receiver([503, 503]) as endpoint:
        registered = await client.post(
            "/api/v1/webhooks",
            json={"organisation_id": police_org, "url": endpoint.url, "events": ["alert.routed", "alert.updated"]},
            headers=admin,
        )
        assert registered.status_code == 201, registered.text
        secret = registered.json()["secret"]
        assert secret.startswith("whsec_")
        listed = (await client.get("/api/v1/webhooks", headers=admin)).json()["items"]
        assert all("secret" not in item for item in listed)

        child_id = (
            await client.post("/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PIN}, headers=municipal)
        ).json()["id"]
        raised = await client.post(
            "/api/v1/alerts",
            json={"child_id": child_id, "type": "whereabouts_unknown", "severity": "urgent", "details": {}},
            headers=municipal,
        )
        assert raised.status_code == 201, raised.text

        import httpx

        async with httpx.AsyncClient() as http:
            worker = Worker(insecure_settings, database, client=http)
            await _deliver_until_quiet(worker)

        assert [r.status for r in endpoint.requests] == [503, 503, 204]
        delivered = endpoint.requests[-1]
        payload = StandardWebhook(secret).verify(delivered.body, delivered.headers)
        assert payload["type"] == "alert.routed"
        assert payload["alert_id"] == raised.json()["id"] and payload["severity"] == "urgent"
        assert set(payload) == {"id", "type", "alert_id", "child_id", "alert_type", "severity", "status", "time"}
        assert len({r.headers["webhook-id"] for r in endpoint.requests}) == 1  # one message, retried

    log = await client.get(f"/api/v1/webhooks/{registered.json()['id']}/deliveries", headers=admin)
    assert log.status_code == 200, log.text
    attempts = sorted(log.json()["items"], key=lambda a: a["attempted_at"])
    assert [a["status_code"] for a in attempts] == [503, 503, 204]
    assert [a["error"] for a in attempts] == ["HTTP 503", "HTTP 503", None]
    assert {a["delivery_status"] for a in attempts} == {"delivered"}


async def test_receiver_down_for_a_while_gets_every_event_in_order(client, world, admin, database, insecure_settings):
    cp_org = str(await world.organisation_id("cp-kazanlak"))
    cp = await world.headers("cp-kazanlak.cp")
    teacher = await world.headers("school-koprinka.staff")
    with receiver([503] * 5) as endpoint:
        registered = await client.post(
            "/api/v1/webhooks",
            json={
                "organisation_id": cp_org,
                "url": endpoint.url,
                "events": ["alert.routed", "alert.updated", "alert.closed"],
            },
            headers=admin,
        )
        secret = registered.json()["secret"]
        child_id = (
            await client.post("/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PIN}, headers=teacher)
        ).json()["id"]
        alert = (
            await client.post(
                "/api/v1/alerts",
                json={
                    "child_id": child_id,
                    "type": "unexcused_absences",
                    "details": {"month": "2026-10", "unexcused_hours": 12},
                },
                headers=teacher,
            )
        ).json()
        etag = f'"{alert["version"]}"'
        etag = (
            await client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers={**cp, "If-Match": etag})
        ).headers["ETag"]
        await client.post(
            f"/api/v1/alerts/{alert['id']}/close",
            json={"outcome": "returned_to_school"},
            headers={**cp, "If-Match": etag},
        )

        import httpx

        async with httpx.AsyncClient() as http:
            worker = Worker(insecure_settings, database, client=http)
            await _deliver_until_quiet(worker, rounds=40)

        delivered = [json.loads(r.body) for r in endpoint.requests if r.status == 204]
        for request in endpoint.requests:
            StandardWebhook(secret).verify(request.body, request.headers)
        assert [p["type"] for p in delivered] == ["alert.routed", "alert.updated", "alert.closed"]
        assert len({p["id"] for p in delivered}) == 3


async def test_webhook_urls_must_be_https_and_public_unless_insecure_is_allowed(
    client, world, admin, settings, database
):
    from service.app import create_app

    strict = create_app(settings, database=database)
    import httpx

    org = str(await world.organisation_id("police-kazanlak"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=strict), base_url="http://t") as http:
        for url, why in [
            ("http://example.org/hook", "https"),
            ("https://127.0.0.1/hook", "loopback"),
            ("https://10.1.2.3/hook", "private"),
            ("https://169.254.169.254/latest", "link-local"),
            ("ftp://example.org/x", "https"),
        ]:
            response = await http.post(
                "/api/v1/webhooks", json={"organisation_id": org, "url": url, "events": ["alert.routed"]}, headers=admin
            )
            assert response.status_code == 422, (url, response.text)
            assert response.json()["errors"][0]["pointer"] == "#/url"
            assert why.split("-")[0] in response.json()["detail"] or why == "https", response.json()["detail"]


async def test_only_admins_of_the_organisation_manage_its_webhooks(client, world, admin):
    school = await world.headers("school-koprinka.admin")
    own = str(await world.organisation_id("school-koprinka"))
    other = str(await world.organisation_id("police-kazanlak"))
    assert (
        await client.post(
            "/api/v1/webhooks",
            json={"organisation_id": other, "url": "https://example.org/h", "events": ["alert.routed"]},
            headers=school,
        )
    ).status_code == 422
    assert (await client.get("/api/v1/webhooks", headers=await world.headers("cp-kazanlak.cp"))).status_code == 403
    created = await client.post(
        "/api/v1/webhooks",
        json={"organisation_id": own, "url": "http://127.0.0.1:9/h", "events": ["alert.closed"]},
        headers=school,
    )
    assert created.status_code == 201, created.text
    hook_id = created.json()["id"]
    other_school = await world.headers("school-kazanlak.admin")
    assert (await client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=other_school)).status_code == 404
    assert (await client.delete(f"/api/v1/webhooks/{hook_id}", headers=other_school)).status_code == 404
    assert (await client.delete(f"/api/v1/webhooks/{hook_id}", headers=school)).status_code == 204
    assert (await client.get("/api/v1/webhooks", headers=school)).json()["items"] == []
