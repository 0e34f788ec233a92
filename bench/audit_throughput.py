"""Alert creation over HTTP on PostgreSQL with 16 clients: with the audit chain linked under
its lock (the service as it is) against the same service with audit appends removed."""

from __future__ import annotations

import asyncio
import json

import httpx

from bench.harness import ROOT, LoadResult, drive, fresh_database, server

CLIENTS = 16
PUPIL_PIN = "1152035081"
#: Koprinka's ten demo pupils: alerts spread over them, as a school's would, rather than piling
#: thousands onto one child (whose access checks would then walk thousands of alerts)
KOPRINKA_PINS = [
    child["pin"]
    for child in json.loads((ROOT / "service" / "demo" / "demo.json").read_text(encoding="utf-8"))["children"]
    if child.get("school") == "school-koprinka"
]


async def alert_load(base_url: str, seconds: float) -> LoadResult:
    async with httpx.AsyncClient(base_url=base_url) as client:
        token = (
            await client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": "school-koprinka.staff", "password": "obhvat-demo-2026"},
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        child_ids = [
            (await client.post("/api/v1/children/lookup", json={"pin": pin}, headers=headers)).json()["id"]
            for pin in KOPRINKA_PINS
        ]

    async def create(http: httpx.AsyncClient, n: int) -> httpx.Response:
        return await http.post(
            "/api/v1/alerts",
            headers=headers,
            json={
                "child_id": child_ids[n % len(child_ids)],
                "type": "unexcused_absences",
                "details": {"month": f"2026-{n % 12 + 1:02d}", "unexcused_hours": 6 + n % 100},
            },
        )

    await drive(CLIENTS, min(3.0, seconds / 3), create, base_url=base_url, expect=201)  # warm up
    return await drive(CLIENTS, seconds, create, base_url=base_url, expect=201)


def run(seconds: float) -> dict[str, object]:
    with fresh_database() as url:
        with server(url) as base:
            audited = asyncio.run(alert_load(base, seconds))
        with server(url, "--no-audit") as base:
            unaudited = asyncio.run(alert_load(base, seconds))
    ratio = audited.rate / unaudited.rate if unaudited.rate else 0.0
    return {
        "name": "audit linking cost (alert creation, 16 clients, PostgreSQL)",
        "value": f"{audited.rate:.0f} alerts/s with audit, {unaudited.rate:.0f}/s without",
        "ratio": ratio,
        "target": "≥ 0.67 (linking may cost at most a third)",
        "ok": ratio >= 2 / 3 and audited.errors == 0,
        "detail": f"p95 {audited.percentile(0.95) * 1000:.0f} ms vs {unaudited.percentile(0.95) * 1000:.0f} ms; "
        f"errors {audited.errors}/{unaudited.errors}",
    }
