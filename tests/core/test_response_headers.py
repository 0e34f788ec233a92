"""Response hardening: nothing with child data stays in a browser's or proxy's cache, no answer
is content-sniffed, production pins HTTPS, and links point at the configured public address,
never at whatever Host header the client sent."""

from __future__ import annotations

import httpx
import pytest

from service.core.settings import Environment
from tests.conftest import asgi_client, make_app
from tests.core.helpers import assert_problem

KOPRINKA_PUPIL_PIN = "1152035081"
PUBLIC_URL = "https://obhvat.example.bg"


def assert_not_cached(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store", (response.request.url, response.headers)
    assert response.headers.get("x-content-type-options") == "nosniff", response.request.url


async def test_answers_with_child_data_are_not_stored_by_any_cache(client, world):
    teacher = await world.headers("school-koprinka.staff")
    auditor = await world.headers("rue-lovech.auditor")
    found = await client.post("/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PIN}, headers=teacher)
    assert found.status_code == 200, found.text
    child_id = found.json()["id"]

    answers = [
        found,
        await client.get(f"/api/v1/children/{child_id}", headers=teacher),
        await client.get("/api/v1/alerts", headers=await world.headers("cp-kazanlak.cp")),
        await client.get("/api/v1/inbox", headers=await world.headers("cp-kazanlak.cp")),
        await client.get("/api/v1/me", headers=teacher),
        await client.get(f"/api/v1/audit/children/{child_id}/access-report", params={"format": "csv"},
                         headers=auditor),
        await client.get("/api/v1/reports/summary", params={"municipality": "SZR12", "format": "csv"},
                         headers=auditor),
    ]
    async with client.stream("GET", "/api/v1/audit/events/export", headers=auditor) as streamed:
        await streamed.aread()
    answers.append(streamed)

    for response in answers:
        assert response.status_code == 200, (response.request.url, response.text[:300])
        assert_not_cached(response)


async def test_problems_and_refusals_before_any_route_are_not_stored_either(client, app, world):
    async def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/api/v1/test-explode", explode)
    admin = await world.headers("platform.admin")

    answers = [
        (await client.get("/api/v1/alerts"), 401),
        (await client.get("/api/v1/no-such-thing"), 404),
        (await client.get("/api/v1/organisations", params={"limit": 500}, headers=admin), 422),
        (await client.get("/api/v1/organisations?code=%00", headers=admin), 400),
        (await client.post("/api/v1/organisations", content=b"x" * (2 * 1024 * 1024), headers=admin), 413),
        (await client.get("/api/v1/test-explode"), 500),
    ]

    for response, status in answers:
        assert_problem(response, status)
        assert_not_cached(response)


async def test_operator_endpoints_are_not_stored(client):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert_not_cached(await client.get(path))


@pytest.mark.parametrize("path", ["/.well-known/jwks.json", "/openapi.json", "/docs", "/redoc"])
async def test_the_signing_keys_and_the_api_description_may_be_cached_but_not_sniffed(client, path):
    response = await client.get(path)

    assert response.status_code == 200
    assert "cache-control" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_hsts_is_sent_in_production_only(client, settings, database):
    production = settings.model_copy(update={"environment": Environment.production, "public_url": PUBLIC_URL})
    async with asgi_client(make_app(production, database)) as production_client:
        pinned = [await production_client.get(path) for path in ("/healthz", "/.well-known/jwks.json", "/api/v1/me")]

    for response in pinned:
        assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert "strict-transport-security" not in (await client.get("/healthz")).headers


async def test_link_headers_use_the_public_address_not_a_forged_host(settings, database, world):
    public = settings.model_copy(update={"public_url": PUBLIC_URL})
    admin = await world.headers("platform.admin", Host="evil.example", **{"X-Forwarded-Host": "evil.example"})
    async with asgi_client(make_app(public, database)) as public_client:
        response = await public_client.get("/api/v1/organisations", params={"limit": 2}, headers=admin)

    assert response.status_code == 200, response.text
    link = response.headers["link"]
    assert "evil.example" not in link
    assert link.startswith(f"<{PUBLIC_URL}/api/v1/organisations?") and link.endswith('>; rel="next"')
    assert f"after={response.json()['next']}" in link and "limit=2" in link


async def test_link_headers_outside_production_default_to_the_development_server(client, world):
    admin = await world.headers("platform.admin", Host="evil.example")

    response = await client.get("/api/v1/users", params={"limit": 1}, headers=admin)

    assert response.headers["link"].startswith("<http://127.0.0.1:8000/api/v1/users?")
