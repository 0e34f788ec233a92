"""Alert creation over HTTP on PostgreSQL, 16 connections driven by `wrk`: with the audit chain
linked (the service as it is) against the same service with audit appends removed."""

from __future__ import annotations

import uuid

from bench.harness import fresh_database, server_process
from bench.throughput import CONNECTIONS, LOG, Fixture, prepare
from bench.wrk import Wrk, WrkResult


def alert_load(base_url: str, pid: int, fixture: Fixture, seconds: float, label: str) -> WrkResult:
    """`POST /alerts` from `wrk` for `seconds` after a short warm-up, each request with its own
    Idempotency-Key."""
    wrk = Wrk(base_url, pid)
    env = {"BENCH_TOKEN": fixture.school, "BENCH_CHILDREN": ",".join(fixture.children)}
    wrk.run("warm-up", "create_alert.lua", connections=CONNECTIONS, seconds=min(3.0, seconds / 3),
            env={**env, "BENCH_NONCE": uuid.uuid4().hex})
    return wrk.run(label, "create_alert.lua", connections=CONNECTIONS, seconds=seconds,
                   env={**env, "BENCH_NONCE": uuid.uuid4().hex})


def run(seconds: float) -> dict[str, object]:
    with fresh_database() as url:
        with server_process(url, log=LOG) as (base, pid):
            fixture, alert_id = prepare(base)
            audited = alert_load(base, pid, fixture, seconds, "with audit")
        with server_process(url, "--no-audit", log=LOG) as (base, pid):
            fixture, _ = prepare(base, alert_id)
            unaudited = alert_load(base, pid, fixture, seconds, "without audit")
    ratio = audited.rate / unaudited.rate if unaudited.rate else 0.0
    errors = audited.errors + audited.status_errors, unaudited.errors + unaudited.status_errors
    return {
        "name": f"audit linking cost (alert creation, {CONNECTIONS} connections, wrk, PostgreSQL)",
        "value": f"{audited.rate:.0f} alerts/s with audit, {unaudited.rate:.0f}/s without",
        "ratio": ratio,
        "target": "≥ 0.67 (linking may cost at most a third)",
        "ok": ratio >= 2 / 3 and errors == (0, 0),
        "detail": f"p95 {audited.p95_ms:.0f} ms vs {unaudited.p95_ms:.0f} ms; "
        f"wrk {audited.client_share:.0%}/{unaudited.client_share:.0%} of the CPU; errors {errors[0]}/{errors[1]}",
    }
