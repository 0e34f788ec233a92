"""Crash consistency: the server is killed with SIGKILL in the middle of a load of alert
creations, each sent with an `Idempotency-Key`, and restarted on the same database. Nothing it
answered 201 may be lost, nothing may exist half-written (an alert without its audit event, its
recipients or its outbox delivery), and retrying every request whose answer was lost, or was a
201, with the same key and body must not raise a single alert twice. The audit chain must still
verify, through the API and through `obhvat audit verify`."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bench.harness import ROOT, bench_env
from tests.conftest import DEMO_PASSWORD
from tests.robustness.live import (
    ADMIN,
    AUDITOR,
    PUPIL_PINS,
    SCHOOL_STAFF,
    Live,
    bearer,
    child_id,
    register_webhook,
)

pytestmark = pytest.mark.postgres_only

CLIENTS = 8
#: the kill comes at least this long after the load starts, once this many alerts were answered,
#: after a further random pause of up to KILL_SPREAD seconds
KILL_NOT_BEFORE = 1.0
KILL_AFTER_ANSWERS = 20
KILL_SPREAD = 1.5
#: bounds on each phase, far above what they take, so a hang fails instead of blocking the run
LOAD_TIMEOUT = 30.0
RETRY_TIMEOUT = 30.0
#: how long a retry keeps meeting 409 (the key's lock still held by a dying connection) before failing
CONFLICT_PATIENCE = 10.0


@dataclass
class Attempt:
    """One alert creation of the load: its key, its body and what became of it."""

    key: str
    school: str
    body: dict[str, Any]
    status: int | None = None
    alert_id: str | None = None
    transport_error: str | None = None
    answer: str = ""


async def test_a_server_killed_mid_load_loses_no_201_and_retries_raise_no_duplicates(live: Live) -> None:
    seed = random.randrange(2**32)
    print(f"crash test seed {seed}")
    rng = random.Random(seed)

    with live.server() as (base, pid):
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            headers = {school: await bearer(http, user, DEMO_PASSWORD) for school, user in SCHOOL_STAFF.items()}
            children = {
                school: [await child_id(http, headers[school], pin) for pin in pins]
                for school, pins in PUPIL_PINS.items()
            }
            await register_webhook(http, await bearer(http, ADMIN, DEMO_PASSWORD), "cp-kazanlak")
        attempts = await asyncio.wait_for(_load_until_killed(base, pid, headers, children, rng), LOAD_TIMEOUT)

    unexpected = [(a.key, a.status, a.answer) for a in attempts if a.status not in (None, 201)]
    assert unexpected == [], "before the kill every creation must succeed"
    answered = {a.key: a for a in attempts if a.status == 201}
    lost = {a.key: a for a in attempts if a.transport_error is not None}
    assert len(answered) >= KILL_AFTER_ANSWERS
    assert lost, "the kill must have cut some requests off"
    assert set(answered) | set(lost) == {a.key for a in attempts}

    with live.server() as (base, _pid):
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            headers = {school: await bearer(http, user, DEMO_PASSWORD) for school, user in SCHOOL_STAFF.items()}
            retried = [*answered.values(), *lost.values()]
            first = await asyncio.wait_for(_retry_all(http, headers, retried), RETRY_TIMEOUT)
            again = await asyncio.wait_for(_retry_all(http, headers, list(lost.values())), RETRY_TIMEOUT)

            # (c) a key answered 201 before the crash answers the same alert again, replayed
            for key, attempt in answered.items():
                assert first[key].json()["id"] == attempt.alert_id, key
                assert first[key].headers.get("Idempotent-Replayed") == "true", key
            # a lost answer: the first retry raised the alert (or found it committed), the second replays it
            for key in lost:
                assert again[key].json()["id"] == first[key].json()["id"], key
                assert again[key].headers.get("Idempotent-Replayed") == "true", key
            committed_unanswered = sum(first[key].headers.get("Idempotent-Replayed") == "true" for key in lost)
            print(
                f"{len(attempts)} creations: {len(answered)} answered 201, {len(lost)} cut off by the kill "
                f"({committed_unanswered} of them had committed)"
            )

            # (d) the chain verifies after the restart, for an auditor, and the restarted
            # sequencer links every event the killed server recorded and had not linked
            auditor = await bearer(http, AUDITOR, DEMO_PASSWORD)
            deadline = time.monotonic() + 30
            while True:
                verified = await http.get("/api/v1/audit/verify", headers=auditor)
                assert verified.status_code == 200, verified.text
                assert verified.json()["ok"] is True, verified.json()
                assert verified.json()["first_bad_seq"] is None
                if verified.json()["unlinked"] == 0 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert verified.json()["unlinked"] == 0, verified.json()

    # ...and for an operator with the command line
    cli = subprocess.run(
        [sys.executable, "-m", "service.cli", "audit", "verify"],
        env={**bench_env(live.database_url), **live.env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "audit chain intact" in cli.stdout

    alert_of_key = {key: response.json()["id"] for key, response in first.items()}
    _assert_committed_state(live, alert_of_key)
    assert "unhandled_error" not in live.log_text(), live.log_tail()


async def _load_until_killed(
    base: str, pid: int, headers: dict[str, dict[str, str]], children: dict[str, list[str]], rng: random.Random
) -> list[Attempt]:
    """CLIENTS loops creating alerts until the server, killed by SIGKILL part-way, stops answering."""
    attempts: list[Attempt] = []
    answered = 0
    #: set once enough alerts were answered, or at the first unexpected answer (then the load
    #: is cut short and the test fails naming it)
    time_to_kill = asyncio.Event()
    schools = list(SCHOOL_STAFF)

    async def client(http: httpx.AsyncClient, n: int) -> None:
        nonlocal answered
        school = schools[n % len(schools)]
        for i in range(1_000_000):
            pupils = children[school]
            attempt = Attempt(
                key=f"crash-{n}-{i}",
                school=school,
                body={
                    "child_id": pupils[(n + i) % len(pupils)],
                    "type": "unexcused_absences",
                    "severity": "concern",
                    "details": {"month": f"2026-{i % 10 + 1:02d}", "unexcused_hours": 6 + (n * 7 + i) % 90},
                },
            )
            attempts.append(attempt)
            try:
                answer = await _create(http, headers[school], attempt)
            except httpx.TransportError as exc:  # the server is gone: this answer is lost
                attempt.transport_error = f"{type(exc).__name__}: {exc}"
                return
            attempt.status = answer.status_code
            if answer.status_code != 201:
                attempt.answer = answer.text[:300]
                time_to_kill.set()
                return
            attempt.alert_id = answer.json()["id"]
            answered += 1
            if answered >= KILL_AFTER_ANSWERS:
                time_to_kill.set()

    async def killer() -> None:
        await asyncio.sleep(KILL_NOT_BEFORE)
        await time_to_kill.wait()
        await asyncio.sleep(rng.uniform(0, KILL_SPREAD))
        os.kill(pid, signal.SIGKILL)

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as http:
        await asyncio.gather(killer(), *(client(http, n) for n in range(CLIENTS)))
    return attempts


async def _create(http: httpx.AsyncClient, headers: dict[str, str], attempt: Attempt) -> httpx.Response:
    return await http.post(
        "/api/v1/alerts", json=attempt.body, headers={**headers, "Idempotency-Key": attempt.key}
    )


async def _retry_all(
    http: httpx.AsyncClient, headers: dict[str, dict[str, str]], attempts: list[Attempt]
) -> dict[str, httpx.Response]:
    """Each attempt sent again with its key and body, a few at a time; every one must end in 201."""
    gate = asyncio.Semaphore(CLIENTS)

    async def retry(attempt: Attempt) -> tuple[str, httpx.Response]:
        async with gate:
            patience = time.monotonic() + CONFLICT_PATIENCE
            while True:
                answer = await _create(http, headers[attempt.school], attempt)
                # 409: the key is still locked by a transaction of the killed server that
                # PostgreSQL has not finished rolling back; the contract says retry shortly
                if answer.status_code != 409 or time.monotonic() > patience:
                    break
                await asyncio.sleep(0.2)
            assert answer.status_code == 201, f"retry of {attempt.key}: {answer.status_code} {answer.text}"
            return attempt.key, answer

    return dict(await asyncio.gather(*(retry(a) for a in attempts)))


def _assert_committed_state(live: Live, alert_of_key: dict[str, str]) -> None:
    """What is really in the database: one alert per key, each with its audit event, its two
    recipients, its outbox delivery and its stored first answer; nothing else."""
    with live.connect() as db:
        alerts = {str(a) for (a,) in db.execute("SELECT id FROM alert")}
        events: dict[str, int] = dict(
            db.execute(  # type: ignore[arg-type]
                "SELECT resource_id, count(*) FROM audit_event "
                "WHERE action = 'alert.create' AND decision = 'allow' AND resource_type = 'alert' "
                # a retry of an answered request is decided and audited again, as a replay
                "AND reason <> 'idempotent replay of an alert raised' "
                "GROUP BY resource_id"
            ).fetchall()
        )
        recipients = {
            str(alert): (count, leads)
            for alert, count, leads in db.execute(
                "SELECT alert_id, count(*), count(*) FILTER (WHERE is_lead) FROM alert_recipient GROUP BY alert_id"
            )
        }
        deliveries: dict[str, int] = dict(
            db.execute(  # type: ignore[arg-type]
                "SELECT ordering_key, count(*) FROM outbox_delivery "
                "WHERE event_type = 'alert.routed' GROUP BY ordering_key"
            ).fetchall()
        )
        stored = dict(
            db.execute(
                "SELECT key, response_body ->> 'id' FROM idempotency_record WHERE operation = 'alert.create'"
            ).fetchall()
        )

    # (a) every alert answered or retried exists; (c) one per key, no duplicates
    assert len(set(alert_of_key.values())) == len(alert_of_key)
    assert alerts == set(alert_of_key.values())
    assert stored == alert_of_key
    # (a, b) every alert has exactly one creation event, and no creation event lacks its alert
    assert set(events) == alerts
    assert all(count == 1 for count in events.values()), {a: c for a, c in events.items() if c != 1}
    # the rest of the same transaction: routed to child protection (lead) and the municipality,
    # and queued once for child protection's webhook
    assert {a: recipients.get(a) for a in alerts if recipients.get(a) != (2, 1)} == {}
    assert {key.removeprefix("alert:"): n for key, n in deliveries.items()} == dict.fromkeys(alerts, 1)
