"""Alert creation over HTTP on PostgreSQL with 16 clients — token check, access decision,
routing, audit and outbox — against the stack's limit: a bare async FastAPI endpoint doing one
INSERT through a psycopg async pool (`bench/bare.py`) on the same database and server."""

from __future__ import annotations

import asyncio

from bench.audit_throughput import CLIENTS, alert_load
from bench.harness import fresh_database, server

TARGET = 0.35


def run(seconds: float) -> dict[str, object]:
    with fresh_database() as url:
        with server(url, "--bare-insert") as base:
            bare = asyncio.run(alert_load(base, seconds))
        with server(url) as base:
            full = asyncio.run(alert_load(base, seconds))
    ratio = full.rate / bare.rate if bare.rate else 0.0
    return {
        "name": f"alert creation over HTTP ({CLIENTS} clients, PostgreSQL) vs bare async INSERT endpoint",
        "value": f"{full.rate:.0f} alerts/s vs {bare.rate:.0f} inserts/s",
        "ratio": ratio,
        "target": f"≥ {TARGET} (aim 0.5)",
        "ok": ratio >= TARGET and full.errors == 0 and bare.errors == 0,
        "detail": f"p50 {full.percentile(0.5) * 1000:.0f} ms vs {bare.percentile(0.5) * 1000:.0f} ms, "
        f"p95 {full.percentile(0.95) * 1000:.0f} ms vs {bare.percentile(0.95) * 1000:.0f} ms; "
        f"errors {full.errors}/{bare.errors}",
    }
