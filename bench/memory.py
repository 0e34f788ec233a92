"""Peak memory of one API process under mixed load (16 clients raising alerts, reading the
inbox in pages of 100 and reading single alerts) against the same load on the bare
one-INSERT endpoint's process (`bench/bare.py`), which is what Python, uvicorn and a psycopg
pool cost before any of Obhvat is loaded."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from bench.audit_throughput import alert_load
from bench.harness import LoadResult, drive, fresh_database, peak_rss_mib, server_process
from bench.throughput import CONNECTIONS as CLIENTS
from bench.throughput import KOPRINKA_PINS, Fixture
from bench.wrk import WrkResult

BUDGET_MIB = 200
DEMO_PASSWORD = "obhvat-demo-2026"


async def _token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": username, "password": DEMO_PASSWORD}
    )
    return {"Authorization": f"Bearer {answer.raise_for_status().json()['access_token']}"}


async def _mixed_load(base_url: str, seconds: float) -> LoadResult:
    async with httpx.AsyncClient(base_url=base_url) as client:
        school = await _token(client, "school-koprinka.staff")
        officer = await _token(client, "cp-kazanlak.cp")
        child_ids = [
            (await client.post("/api/v1/children/lookup", json={"pin": pin}, headers=school)).json()["id"]
            for pin in KOPRINKA_PINS
        ]
    raised: list[str] = []

    async def request(http: httpx.AsyncClient, n: int) -> httpx.Response:
        kind = n % 4
        if kind == 0 or not raised:
            answer = await http.post(
                "/api/v1/alerts",
                headers=school,
                json={"child_id": child_ids[n % len(child_ids)], "type": "unexcused_absences",
                      "details": {"month": f"2026-{n % 12 + 1:02d}", "unexcused_hours": 6 + n % 100}},
            )
            if answer.status_code == 201:
                raised.append(answer.json()["id"])
                answer.status_code = 200  # counted as expected
            return answer
        if kind == 1:
            return await http.get(f"/api/v1/alerts/{raised[n % len(raised)]}", headers=officer)
        return await http.get("/api/v1/alerts", params={"limit": 100}, headers=officer)

    return await drive(CLIENTS, seconds, request, base_url=base_url, expect=200)


def _bare_load(base_url: str, pid: int, seconds: float) -> WrkResult:
    """The same alert bodies, from `wrk`, on the bare endpoint (which reads no token)."""
    fixture = Fixture(reader="", school="bare", alert_path="", children=[str(uuid.uuid4()) for _ in KOPRINKA_PINS])
    return alert_load(base_url, pid, fixture, seconds, "bare INSERT")


def run(seconds: float) -> dict[str, object]:
    with fresh_database() as url:
        with server_process(url, "--bare-insert") as (base, pid):
            bare = _bare_load(base, pid, seconds)
            bare_peak = peak_rss_mib(pid)
        with server_process(url) as (base, pid):
            idle = peak_rss_mib(pid)
            loaded = asyncio.run(_mixed_load(base, seconds))
            peak = peak_rss_mib(pid)
    return {
        "name": f"peak memory of one API process under mixed load ({CLIENTS} clients)",
        "value": f"{peak:.0f} MiB (bare endpoint {bare_peak:.0f} MiB)",
        "ratio": peak / bare_peak if bare_peak else 0.0,
        "target": f"≤ {BUDGET_MIB} MiB",
        "ok": peak <= BUDGET_MIB and loaded.errors == 0 and bare.errors + bare.status_errors == 0,
        "detail": f"{idle:.0f} MiB after start-up; {loaded.requests:,} requests, errors {loaded.errors}; "
        "ratio is peak against the bare endpoint's peak",
    }
