"""The real thing for robustness tests: a fresh, migrated PostgreSQL database with the demo data,
`bench.serve` (uvicorn with the real app) started on it as a separate process, and the HTTP
chores every scenario begins with: logging in as demo users, finding Kazanlak's pupils."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from bench.harness import ROOT, server_process

#: The three Kazanlak schools' staff. Their pupils' alerts are routed to Kazanlak's child
#: protection department (the lead recipient) and the municipality.
SCHOOL_STAFF = {
    "school-koprinka": "school-koprinka.staff",
    "school-gorno-cherkovishte": "school-gorno-cherkovishte.staff",
    "school-kazanlak": "school-kazanlak.staff",
}
CP_OFFICER = "cp-kazanlak.cp"
AUDITOR = "rue-lovech.auditor"
ADMIN = "platform.admin"
PUPIL_PINS = {
    school: [
        child["pin"]
        for child in json.loads((ROOT / "service" / "demo" / "demo.json").read_text(encoding="utf-8"))["children"]
        if child.get("school") == school
    ]
    for school in SCHOOL_STAFF
}


@dataclass
class Live:
    """A database of the test's own and the environment its server processes run with."""

    database_url: str
    env: dict[str, str]
    log: Path

    @contextlib.contextmanager
    def server(self) -> Iterator[tuple[str, int]]:
        """A server on a free port, answering once the yield comes; (base URL, pid)."""
        with server_process(self.database_url, env=self.env, log=self.log) as started:
            yield started

    def connect(self) -> psycopg.Connection:
        """A direct connection to the database, for checking what was really committed."""
        return psycopg.connect(self.database_url, autocommit=True)

    def log_text(self) -> str:
        """Everything the server processes wrote to stderr (log lines at WARNING and above)."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


async def bearer(http: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    answer = await http.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": username, "password": password}
    )
    assert answer.status_code == 200, f"login as {username}: {answer.status_code} {answer.text}"
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def child_id(http: httpx.AsyncClient, headers: dict[str, str], pin: str) -> str:
    found = await http.post("/api/v1/children/lookup", json={"pin": pin}, headers=headers)
    assert found.status_code == 200, f"lookup: {found.status_code} {found.text}"
    return str(found.json()["id"])


async def register_webhook(http: httpx.AsyncClient, admin: dict[str, str], organisation_code: str) -> str:
    """A webhook of the organisation for routed alerts, so every new alert queues a delivery. No
    worker runs in these tests: the deliveries stay in the outbox to be counted."""
    listed = await http.get("/api/v1/organisations", params={"limit": 200}, headers=admin)
    assert listed.status_code == 200, listed.text
    organisation = next(o["id"] for o in listed.json()["items"] if o["code"] == organisation_code)
    hook = await http.post(
        "/api/v1/webhooks",
        headers=admin,
        json={"organisation_id": organisation, "url": "http://127.0.0.1:9/obhvat", "events": ["alert.routed"]},
    )
    assert hook.status_code == 201, hook.text
    return str(hook.json()["id"])


def percentile(ordered: list[float], p: float) -> float:
    """The nearest-rank percentile of sorted values (p in 0..1)."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]


@dataclass
class Latencies:
    """Seconds per answered request, by operation."""

    by_operation: dict[str, list[float]] = field(default_factory=dict)

    def add(self, operation: str, seconds: float) -> None:
        self.by_operation.setdefault(operation, []).append(seconds)

    def table(self, elapsed: float) -> str:
        rows = [f"{'operation':<16}{'count':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}"]
        everything: list[float] = []
        for operation in sorted(self.by_operation):
            values = sorted(self.by_operation[operation])
            everything.extend(values)
            rows.append(_row(operation, values))
        rows.append(_row("overall", sorted(everything)))
        rows.append(f"{len(everything)} requests in {elapsed:.1f} s: {len(everything) / elapsed:.0f} requests/s")
        return "\n".join(rows)


def _row(name: str, values: list[float]) -> str:
    cells = "".join(f"{percentile(values, p) * 1000:>10.1f}" for p in (0.50, 0.95, 0.99, 1.0))
    return f"{name:<16}{len(values):>8}{cells}"
