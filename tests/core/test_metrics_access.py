"""Issue 15 item 10: Prometheus metrics are not public in production. They answer a bearer
token (OBHVAT_METRICS_TOKEN) or live on a port of their own (OBHVAT_METRICS_PORT); with neither
they are a 404. Development keeps /metrics open."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from service.app import create_app
from service.core.settings import Environment, Settings
from service.health.metrics import start_listener
from tests.conftest import make_settings
from tests.core.helpers import assert_problem

TOKEN = "metrics-token-0123456789-abcdefghij"


def _settings(tmp_path: Path, keys_dir: Path, **update: Any) -> Settings:
    return make_settings(tmp_path, keys_dir).model_copy(update=update)


@asynccontextmanager
async def _api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, log_stream=io.StringIO())
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://obhvat.test") as http:
            yield http
    finally:
        await app.state.database.dispose()


async def test_development_metrics_are_open(tmp_path: Path, keys_dir: Path) -> None:
    async with _api(_settings(tmp_path, keys_dir, environment=Environment.development)) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert "obhvat_http_requests_total" in response.text


async def test_production_metrics_without_token_or_port_are_not_found(tmp_path: Path, keys_dir: Path) -> None:
    async with _api(_settings(tmp_path, keys_dir, environment=Environment.production)) as http:
        assert_problem(await http.get("/metrics"), 404)
        assert_problem(await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}), 404)


async def test_production_metrics_answer_only_the_configured_bearer_token(tmp_path: Path, keys_dir: Path) -> None:
    settings = _settings(tmp_path, keys_dir, environment=Environment.production, metrics_token=TOKEN)
    async with _api(settings) as http:
        missing = assert_problem(await http.get("/metrics"), 401)
        assert "token" in missing["detail"]
        assert_problem(await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN[:-1]}x"}), 401)
        assert_problem(await http.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}), 401)
        allowed = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert allowed.status_code == 200
    assert "obhvat_http_requests_total" in allowed.text


async def test_production_with_a_metrics_port_hides_the_apis_own_metrics(tmp_path: Path, keys_dir: Path) -> None:
    settings = _settings(
        tmp_path, keys_dir, environment=Environment.production, metrics_port=9464, metrics_token=TOKEN
    )
    async with _api(settings) as http:
        assert_problem(await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}), 404)


async def test_the_metrics_port_serves_metrics_and_nothing_else() -> None:
    listener = start_listener("127.0.0.1", 0, token=None)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{listener.port}") as http:
            metrics = await http.get("/metrics")
            other = await http.get("/api/v1/me")
    finally:
        listener.stop()
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE" in metrics.text
    assert other.status_code == 404


async def test_the_metrics_port_also_asks_for_the_token_when_one_is_set() -> None:
    listener = start_listener("127.0.0.1", 0, token=TOKEN)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{listener.port}") as http:
            refused = await http.get("/metrics")
            wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
            allowed = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        listener.stop()
    assert (refused.status_code, wrong.status_code, allowed.status_code) == (401, 401, 200)


async def test_serving_the_app_opens_the_metrics_port_and_closes_it_on_shutdown(
    tmp_path: Path, keys_dir: Path
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = _settings(
        tmp_path, keys_dir, environment=Environment.production, metrics_port=port, metrics_host="127.0.0.1"
    )
    app = create_app(settings, log_stream=io.StringIO())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200
    async with httpx.AsyncClient() as http:
        try:
            await http.get(f"http://127.0.0.1:{port}/metrics")
        except httpx.ConnectError:
            closed = True
        else:
            closed = False
    assert closed
