"""Operator endpoints: liveness, readiness (database reachable and schema current) and metrics."""

from __future__ import annotations

import re

import httpx

from service.core.migrations import head_revision
from tests.core.helpers import assert_problem


async def test_healthz_answers_ok_without_credentials(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_when_migrations_are_current(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["database"] is True
    assert body["migrations"] == {"current": head_revision(), "expected": head_revision()}


async def test_readyz_is_a_503_problem_when_the_schema_is_not_the_expected_one(
    app, client: httpx.AsyncClient
) -> None:
    app.state.expected_revision = "nope"
    response = await client.get("/readyz")
    body = assert_problem(response, 503)
    assert body["database"] is True
    assert body["migrations"] == {"current": head_revision(), "expected": "nope"}
    assert head_revision() in body["detail"] and "nope" in body["detail"]
    documented = app.openapi()["paths"]["/readyz"]["get"]["responses"]["503"]["content"]
    assert response.headers["content-type"] in documented  # load balancers and clients are told


async def test_readyz_recovers_once_the_schema_matches(app, client: httpx.AsyncClient) -> None:
    app.state.expected_revision = "nope"
    assert (await client.get("/readyz")).status_code == 503
    app.state.expected_revision = head_revision()
    assert (await client.get("/readyz")).status_code == 200


def _counter(text: str, method: str, route: str, status: str) -> float:
    pattern = re.compile(
        r"^obhvat_http_requests_total\{(?P<labels>.*)\} (?P<value>\S+)$", re.MULTILINE
    )
    for match in pattern.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if labels == {"method": method, "route": route, "status": status}:
            return float(match["value"])
    return 0.0


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, world, admin
) -> None:
    organisation_id = await world.organisation_id("mun-lukovit")
    template = "/api/v1/organisations/{organisation_id}"
    before = _counter((await client.get("/metrics")).text, "GET", template, "200")

    found = await client.get(f"/api/v1/organisations/{organisation_id}", headers=admin)
    assert found.status_code == 200
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await client.get(f"/api/v1/organisations/{missing}", headers=admin)).status_code == 404

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE obhvat_http_requests_total counter" in text
    assert _counter(text, "GET", template, "200") == before + 1
    assert _counter(text, "GET", template, "404") >= 1
    # ids never become label values: one series per route, not per organisation
    assert str(organisation_id) not in text
    assert missing not in text
    assert "obhvat_http_request_duration_seconds_bucket" in text


async def test_metrics_do_not_grow_a_series_per_unknown_url(client: httpx.AsyncClient) -> None:
    for n in range(3):
        assert (await client.get(f"/scanner/probe-{n}.php")).status_code == 404
    text = (await client.get("/metrics")).text
    assert "probe-" not in text
    assert _counter(text, "GET", "unmatched", "404") >= 3
