"""Issue 15 item 12: webhooks cannot be pointed at private networks by any spelling of an
address, the worker connects to the address it checked (no second DNS lookup), and signing
secrets are encrypted at rest."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook as StandardWebhook

from service.app import create_app
from service.delivery import urls
from service.delivery.models import OutboxDelivery, Webhook
from service.delivery.worker import Worker
from tests.conftest import RUN_LOG, _Tee

KOPRINKA_PUPIL_PIN = "1152035081"

PRIVATE_FORMS = [
    ("100.100.100.200", "cloud metadata in carrier-grade NAT space"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("::ffff:10.0.0.1", "IPv4-mapped private"),
    ("::ffff:8.8.8.8", "IPv4-mapped, even of a public address"),
    ("2002:a00:1::1", "6to4 of 10.0.0.1"),
    ("2002:7f00:1::1", "6to4 of 127.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo"),
    ("2001:0:a00:1::", "Teredo with a private server"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"),
]


def _resolving_to(address: str):
    async def fake(host: str, port: int) -> list[str]:
        return [address]

    return fake


def _recording(sent: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    return httpx.MockTransport(answer)


@pytest.fixture
def strict_app(settings, database):
    return create_app(settings, database=database, log_stream=_Tee(RUN_LOG))


async def _register(app, admin, organisation_id, url):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        return await http.post(
            "/api/v1/webhooks",
            json={"organisation_id": str(organisation_id), "url": url, "events": ["alert.routed"]},
            headers=admin,
        )


@pytest.mark.parametrize(("address", "form"), PRIVATE_FORMS)
def test_each_private_form_of_an_address_is_forbidden(address: str, form: str) -> None:
    import ipaddress

    assert urls.forbidden_address(ipaddress.ip_address(address)), form


def test_public_addresses_are_allowed() -> None:
    import ipaddress

    for address in ("93.184.216.34", "2606:4700::1111", "2002:808:808::1"):
        assert not urls.forbidden_address(ipaddress.ip_address(address)), address


async def test_registering_a_host_that_resolves_to_any_private_form_is_refused(
    strict_app, world, admin, monkeypatch
):
    police = await world.organisation_id("police-kazanlak")
    for address, form in PRIVATE_FORMS:
        monkeypatch.setattr(urls, "resolve", _resolving_to(address))
        response = await _register(strict_app, admin, police, "https://hooks.police.example/obhvat")
        assert response.status_code == 422, (form, response.text)
        assert response.json()["errors"][0]["pointer"] == "#/url"


async def test_literal_private_forms_and_other_ports_are_refused_at_registration(strict_app, world, admin):
    police = await world.organisation_id("police-kazanlak")
    for url in (
        "https://100.100.100.200/latest/meta-data",
        "https://[::ffff:a00:1]/hook",
        "https://[2002:a00:1::1]/hook",
    ):
        response = await _register(strict_app, admin, police, url)
        assert response.status_code == 422, (url, response.text)
    other_port = await _register(strict_app, admin, police, "https://93.184.216.34:8443/hook")
    assert other_port.status_code == 422
    assert "443" in other_port.json()["detail"]


async def _hook_and_alert(app, world, admin, database, monkeypatch, url="https://hooks.police.example/obhvat"):
    """A webhook of Kazanlak police (registered while its name resolved to a public address) and
    an urgent alert routed to it."""
    monkeypatch.setattr(urls, "resolve", _resolving_to("93.184.216.34"))
    police = await world.organisation_id("police-kazanlak")
    registered = await _register(app, admin, police, url)
    assert registered.status_code == 201, registered.text
    municipal = await world.headers("mun-kazanlak.municipal")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        child_id = (
            await http.post("/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PIN}, headers=municipal)
        ).json()["id"]
        raised = await http.post(
            "/api/v1/alerts",
            json={"child_id": child_id, "type": "whereabouts_unknown", "severity": "urgent", "details": {}},
            headers=municipal,
        )
        assert raised.status_code == 201, raised.text
    return registered.json()


async def test_a_name_that_resolves_to_a_private_address_at_delivery_is_not_contacted(
    strict_app, world, admin, database, settings, monkeypatch
):
    hook = await _hook_and_alert(strict_app, world, admin, database, monkeypatch)
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    monkeypatch.setattr(urls, "resolve", _resolving_to("100.100.100.200"))  # DNS rebinding
    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        assert await Worker(settings, database, client=http).deliver_once() >= 1
    assert sent == []
    async with database.transaction() as session:
        delivery = (
            await session.execute(select(OutboxDelivery).where(OutboxDelivery.webhook_id == uuid.UUID(hook["id"])))
        ).scalar_one()
    assert delivery.status == "pending"  # retried later, in case the name is fixed


async def test_the_worker_connects_to_the_address_it_checked_with_the_name_for_host_and_tls(
    strict_app, world, admin, database, settings, monkeypatch
):
    hook = await _hook_and_alert(strict_app, world, admin, database, monkeypatch)
    lookups: list[str] = []

    async def resolve_once(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["93.184.216.34"] if len(lookups) == 1 else ["127.0.0.1"]

    monkeypatch.setattr(urls, "resolve", resolve_once)
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        await Worker(settings, database, client=http).deliver_once()

    assert lookups == ["hooks.police.example"]  # one lookup for the delivery
    [request] = sent
    assert request.url.host == "93.184.216.34"
    assert request.url.scheme == "https" and request.url.port is None and request.url.path == "/obhvat"
    assert request.headers["host"] == "hooks.police.example"
    assert request.extensions["sni_hostname"] == "hooks.police.example"
    payload = StandardWebhook(hook["secret"]).verify(request.content, dict(request.headers))
    assert payload["type"] == "alert.routed"


async def test_webhook_secrets_are_stored_encrypted_and_still_sign(
    strict_app, world, admin, database, settings, monkeypatch
):
    hook = await _hook_and_alert(strict_app, world, admin, database, monkeypatch)
    async with database.transaction() as session:
        stored = (await session.execute(select(Webhook.secret).where(Webhook.id == uuid.UUID(hook["id"])))).scalar_one()
    assert stored != hook["secret"]
    assert hook["secret"] not in stored and hook["secret"].removeprefix("whsec_") not in stored

    sent: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=_recording(sent)) as http:
        await Worker(settings, database, client=http).deliver_once()
    assert len(sent) == 1
    StandardWebhook(hook["secret"]).verify(sent[0].content, dict(sent[0].headers))


async def test_a_secret_moved_to_another_webhook_or_under_another_key_is_not_used(
    strict_app, world, admin, database, settings, monkeypatch
):
    hook = await _hook_and_alert(strict_app, world, admin, database, monkeypatch)
    other_key = settings.model_copy(update={"webhook_secret_key": "another-key-" + "k" * 32})
    sent: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=_recording(sent)) as http:
        await Worker(other_key, database, client=http).deliver_once()
    assert sent == []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=strict_app), base_url="http://t") as api:
        log = (await api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin)).json()["items"]
    assert "OBHVAT_WEBHOOK_SECRET_KEY" in log[0]["error"]


async def test_separate_host_names_never_share_a_connection_pool(monkeypatch) -> None:
    pools: list[_Pool] = []

    class _Pool:
        def __init__(self, **options: object) -> None:
            self.names: list[str] = []
            pools.append(self)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.names.append(request.extensions["sni_hostname"])
            return httpx.Response(204)

        async def aclose(self) -> None:
            return None

    monkeypatch.setattr(urls.httpx, "AsyncHTTPTransport", _Pool)
    transport = urls.PerHostTransport()
    for name in ("a.example", "b.example", "a.example"):
        request = httpx.Request("POST", "https://93.184.216.34/", extensions={"sni_hostname": name})
        assert (await transport.handle_async_request(request)).status_code == 204
    await transport.aclose()
    assert [pool.names for pool in pools] == [["a.example", "a.example"], ["b.example"]]
