"""Issue [8/9] tested here, not only on paper: `obhvat serve --workers 2` and two
`obhvat worker`s against one PostgreSQL database, a mixed load from several client processes,
then: no request failed, every created alert exists once with its audit event, every event was
delivered exactly once to a local receiver, and the audit chain verifies. Then SIGTERM under load:
no write that was answered 201 is lost."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from service.alerts.models import Alert
from service.audit.models import AuditEvent
from service.audit.verify import verify_chain
from service.delivery.models import OutboxDelivery
from service.demo.loader import DEFAULT_DEMO_FILE, load_demo
from tests.conftest import DEMO_PASSWORD, OPERATOR
from tests.delivery.receiver import receiver

ROOT = Path(__file__).resolve().parents[1]
PUPIL_PINS = ["1152035081", "1247183719", "1552049639"]  # Kazanlak pupils of three schools
SCHOOL_STAFF = ["school-koprinka.staff", "school-gorno-cherkovishte.staff", "school-kazanlak.staff"]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(url: str, settings) -> dict[str, str]:
    return {
        **os.environ,
        "OBHVAT_DATABASE_URL": url,
        "OBHVAT_DATA_DIR": str(settings.data_dir),
        "OBHVAT_KEYS_DIR": str(settings.keys_dir),
        "OBHVAT_PIN_SECRET": settings.pin_secret,
        "OBHVAT_ARGON2_TIME_COST": "1",
        "OBHVAT_ARGON2_MEMORY_KIB": "64",
        "OBHVAT_LOG_LEVEL": "WARNING",
        "OBHVAT_WEBHOOKS_ALLOW_INSECURE": "true",
        "OBHVAT_WEBHOOK_BACKOFF_SECONDS": "0.2",
        "OBHVAT_WORKER_POLL_SECONDS": "0.1",
        "OBHVAT_DB_POOL_SIZE": "5",
    }


def _wait_healthy(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become ready")


def _stop(process: subprocess.Popen, timeout: float = 30) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def _clients(base: str, tokens_children: list[tuple[str, str]], seconds: float) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "scale_out_client.py"), base, token, child, str(seconds), f"c{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        for i, (token, child) in enumerate(tokens_children)
    ]


def _results(clients: list[subprocess.Popen]) -> list[dict]:
    out = []
    for client in clients:
        stdout, stderr = client.communicate(timeout=120)
        assert client.returncode == 0, stderr.decode()[-2000:]
        out.append(json.loads(stdout))
    return out


async def test_two_api_processes_and_two_workers_share_one_postgresql(
    engine_name, committed_database, settings, tmp_path
):
    if engine_name != "postgresql":
        pytest.skip("several processes against one database is PostgreSQL's job")
    await load_demo(settings=settings, database=committed_database, path=DEFAULT_DEMO_FILE, actor=OPERATOR)
    url = committed_database.engine.url.render_as_string(hide_password=False).replace(
        "postgresql+psycopg", "postgresql"
    )
    env = _env(url, settings)
    port = _port()
    base = f"http://127.0.0.1:{port}"
    api = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    workers: list[subprocess.Popen] = []
    try:
        _wait_healthy(base, api)
        with receiver() as endpoint:
            async with httpx.AsyncClient(base_url=base, timeout=20) as http:

                async def token(username: str) -> str:
                    answer = await http.post(
                        "/api/v1/auth/token",
                        data={"grant_type": "password", "username": username, "password": DEMO_PASSWORD},
                    )
                    assert answer.status_code == 200, answer.text
                    return answer.json()["access_token"]

                admin = {"Authorization": f"Bearer {await token('platform.admin')}"}
                orgs = {
                    o["code"]: o["id"]
                    for o in (await http.get("/api/v1/organisations?limit=200", headers=admin)).json()["items"]
                }
                for code in ("cp-kazanlak", "mun-kazanlak"):
                    hook = await http.post(
                        "/api/v1/webhooks",
                        headers=admin,
                        json={
                            "organisation_id": orgs[code],
                            "url": endpoint.url,
                            "events": ["alert.routed", "alert.updated", "alert.closed"],
                        },
                    )
                    assert hook.status_code == 201, hook.text
                pairs = []
                for username, pin in zip(SCHOOL_STAFF, PUPIL_PINS, strict=True):
                    staff = await token(username)
                    found = await http.post(
                        "/api/v1/children/lookup", json={"pin": pin}, headers={"Authorization": f"Bearer {staff}"}
                    )
                    assert found.status_code == 200, found.text
                    pairs.append((staff, found.json()["id"]))

            workers = [
                subprocess.Popen(
                    [sys.executable, "-m", "service.cli", "worker"],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
                for _ in range(2)
            ]
            results = _results(_clients(base, pairs, seconds=6))
            created = [alert_id for r in results for alert_id in r["created"]]
            assert [f for r in results for f in r["failures"]] == []
            assert created and len(created) == len(set(created))

            async with committed_database.transaction() as session:
                expected = (await session.execute(select(func.count()).select_from(OutboxDelivery))).scalar_one()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                async with committed_database.transaction() as session:
                    pending = (
                        await session.execute(
                            select(func.count()).select_from(OutboxDelivery).where(OutboxDelivery.status != "delivered")
                        )
                    ).scalar_one()
                if pending == 0:
                    break
                time.sleep(0.3)
            assert pending == 0, f"{pending} deliveries not delivered"
            for process in workers:
                assert _stop(process) == 0
            delivered = Counter(r.headers["webhook-id"] for r in endpoint.requests if r.status == 204)
            assert sum(delivered.values()) == expected
            assert max(delivered.values()) == 1, "an event was delivered twice"

        async with committed_database.transaction() as session:
            stored = Counter(str(a) for a in (await session.execute(select(Alert.id))).scalars())
            audited = Counter(
                (
                    await session.execute(select(AuditEvent.resource_id).where(AuditEvent.action == "alert.create"))
                ).scalars()
            )
            assert all(stored[a] == 1 and audited[a] == 1 for a in created)
            assert (await verify_chain(session)).ok

        # SIGTERM while clients are still writing: every answered 201 must have been committed
        clients = _clients(base, pairs, seconds=6)
        time.sleep(2.5)
        assert _stop(api) == 0
        results = _results(clients)
        acknowledged = [alert_id for r in results for alert_id in r["created"]]
        async with committed_database.transaction() as session:
            stored = {str(a) for a in (await session.execute(select(Alert.id))).scalars()}
            assert set(acknowledged) <= stored
            assert (await verify_chain(session)).ok
    finally:
        for process in [api, *workers]:
            if process.poll() is None:
                # the whole group: uvicorn's worker processes too, even if the supervisor is stuck
                os.killpg(process.pid, signal.SIGKILL)
