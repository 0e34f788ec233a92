"""The service against the stack's limits, driven from outside by `wrk` (16 connections unless
said), every figure measured in this one run on one fresh PostgreSQL database:

- an audited `GET /api/v1/alerts/{id}` (a child with one alert, read by a recipient) against
  `GET /healthz` of the same `obhvat serve` process;
- `POST /api/v1/alerts` (a school raising alerts, each request with its own Idempotency-Key)
  against the bare async INSERT endpoint (`bench/bare.py`);
- the audited read at 16 connections against 1 connection, `obhvat serve --workers 2`;
- a legitimate reader's p95 (1 connection, the audited read) alongside 64 connections sending
  garbage bearer tokens, against the same reader alone;
- the audit sequencer's linking lag (p99, from `/metrics`) during the `POST` run.

A ratio is refused (reported as invalid) when a run it rests on was client-bound: when `wrk`
took at least half the CPU the server did (bench/wrk.py)."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import ROOT, fresh_database, server_process
from bench.wrk import Wrk, WrkResult

CONNECTIONS = 16
GARBAGE_CONNECTIONS = 64
DEMO_PASSWORD = "obhvat-demo-2026"
READER = "cp-kazanlak.cp"
SCHOOL = "school-koprinka.staff"
#: Koprinka's demo pupils: the first gets the one alert that is read; alerts are raised about
#: the others in turn, as a school's would be, rather than piling thousands onto one child
KOPRINKA_PINS = [
    child["pin"]
    for child in json.loads((ROOT / "service" / "demo" / "demo.json").read_text(encoding="utf-8"))["children"]
    if child.get("school") == "school-koprinka"
]
#: the servers' stderr (a pipe nobody reads would block a server that logs under load)
LOG = ROOT / "var" / "bench" / "server.log"
TARGETS = {"read": 0.10, "create": 0.25, "scaling": 1.5, "garbage": 2.0, "lag": 1.0}
_LAG_BUCKET = re.compile(r'^obhvat_audit_link_lag_seconds_bucket\{le="([^"]+)"\} ([0-9.e+]+)$', re.MULTILINE)


def _link_lag_buckets(base_url: str) -> dict[float, float]:
    """The sequencer's lag histogram (cumulative counts by upper bound) from the server's /metrics."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    return {float(le): float(count) for le, count in _LAG_BUCKET.findall(text)}


def _bucket_p99(buckets: dict[float, float]) -> tuple[float, float]:
    """(upper bound of the bucket holding the 99th percentile, events counted)."""
    total = max(buckets.values(), default=0.0)
    for le in sorted(buckets):
        if buckets[le] >= 0.99 * total:
            return le, total
    return float("inf"), total


@dataclass(frozen=True)
class Fixture:
    reader: str  # bearer tokens
    school: str
    alert_path: str
    children: list[str]  # ids of the children alerts are raised about


def _token(client: httpx.Client, username: str) -> str:
    answer = client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": username, "password": DEMO_PASSWORD}
    )
    return str(answer.raise_for_status().json()["access_token"])


def prepare(base_url: str, alert_id: str | None = None) -> tuple[Fixture, str]:
    """Fresh tokens; the read alert (raised about the first Koprinka pupil unless given)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        school = _token(client, SCHOOL)
        reader = _token(client, READER)
        headers = {"Authorization": f"Bearer {school}"}
        children = [
            str(client.post("/api/v1/children/lookup", json={"pin": pin}, headers=headers).raise_for_status().json()["id"])
            for pin in KOPRINKA_PINS
        ]
        if alert_id is None:
            alert_id = str(
                client.post(
                    "/api/v1/alerts",
                    headers=headers,
                    json={"child_id": children[0], "type": "unexcused_absences",
                          "details": {"month": "2026-09", "unexcused_hours": 12}},
                ).raise_for_status().json()["id"]
            )
        path = f"/api/v1/alerts/{alert_id}"
        client.get(path, headers={"Authorization": f"Bearer {reader}"}).raise_for_status()
    return Fixture(reader=reader, school=school, alert_path=path, children=children[1:]), alert_id


@contextlib.contextmanager
def _obhvat_serve(url: str, *options: str, log: Path) -> Iterator[tuple[str, int]]:
    """`obhvat serve` itself (the CLI), on a free port."""
    with server_process(url, *options, log=log, command=[sys.executable, "-m", "service.cli", "serve"]) as served:
        yield served


def _warm(wrk: Wrk, script: str, env: dict[str, str], seconds: float) -> None:
    wrk.run("warm-up", script, connections=CONNECTIONS, seconds=max(1.0, seconds / 5), env=env)


def _ratio_row(
    name: str, target: str, measured: WrkResult, baseline: WrkResult, ratio: float, met: bool, detail: str
) -> dict[str, object]:
    bound = [run.label for run in (baseline, measured) if run.client_bound]
    errors = measured.errors + measured.status_errors + baseline.errors + baseline.status_errors
    return {
        "name": name,
        "value": f"{measured.label}: {measured.summary()}; {baseline.label}: {baseline.summary()}",
        "ratio": ratio,
        "target": target,
        "ok": met and not bound and errors == 0,
        "valid": not bound,
        "detail": (f"INVALID, client-bound: {', '.join(bound)}; " if bound else "")
        + detail
        + f"; errors {measured.errors + measured.status_errors}/{baseline.errors + baseline.status_errors}",
    }


def run(seconds: float) -> list[dict[str, object]]:
    nonce = uuid.uuid4().hex[:12]
    with fresh_database() as url:
        with _obhvat_serve(url, log=LOG) as (base, pid):
            wrk = Wrk(base, pid)
            fixture, alert_id = prepare(base)
            read_env = {"BENCH_PATH": fixture.alert_path, "BENCH_TOKEN": fixture.reader}
            _warm(wrk, "get.lua", read_env, seconds)
            healthz = wrk.run("/healthz", "get.lua", connections=CONNECTIONS, seconds=seconds, env={"BENCH_PATH": "/healthz"})
            read = wrk.run("audited read", "get.lua", connections=CONNECTIONS, seconds=seconds, env=read_env)
            alone = wrk.run("reader alone", "get.lua", connections=1, seconds=seconds, env=read_env)
            garbage_env = {"BENCH_PATH": fixture.alert_path}
            started = time.monotonic()
            garbage = wrk.start("garbage.lua", connections=GARBAGE_CONNECTIONS, seconds=seconds + 2, env=garbage_env)
            time.sleep(1.0)  # the garbage is flowing before the reader starts, and goes on after
            beside = wrk.run("reader beside garbage", "get.lua", connections=1, seconds=seconds, env=read_env)
            flood = wrk.finish("64 garbage-token connections", garbage, GARBAGE_CONNECTIONS, started)
            create_env = {"BENCH_TOKEN": fixture.school, "BENCH_CHILDREN": ",".join(fixture.children)}
            _warm(wrk, "create_alert.lua", {**create_env, "BENCH_NONCE": f"{nonce}-warm"}, seconds)
            lag_before = _link_lag_buckets(base)
            create = wrk.run(
                "POST /alerts", "create_alert.lua", connections=CONNECTIONS, seconds=seconds,
                env={**create_env, "BENCH_NONCE": nonce},
            )
            time.sleep(1.0)  # what the run recorded last is linked
            lag = _bucket_p99({le: n - lag_before.get(le, 0.0) for le, n in _link_lag_buckets(base).items()})
        with server_process(url, "--bare-insert", log=LOG) as (base, pid):
            wrk = Wrk(base, pid)
            bare_env = {**create_env, "BENCH_NONCE": f"{nonce}-bare"}
            _warm(wrk, "create_alert.lua", bare_env, seconds)
            bare = wrk.run("bare INSERT", "create_alert.lua", connections=CONNECTIONS, seconds=seconds, env=bare_env)
        with _obhvat_serve(url, "--workers", "2", log=LOG) as (base, pid):
            wrk = Wrk(base, pid)
            fixture, _ = prepare(base, alert_id)
            read_env = {"BENCH_PATH": fixture.alert_path, "BENCH_TOKEN": fixture.reader}
            _warm(wrk, "get.lua", read_env, seconds)
            one = wrk.run("1 connection, 2 workers", "get.lua", connections=1, seconds=seconds, env=read_env)
            many = wrk.run(
                f"{CONNECTIONS} connections, 2 workers", "get.lua", connections=CONNECTIONS, seconds=seconds, env=read_env
            )
    garbage_ratio = beside.p95_ms / alone.p95_ms if alone.p95_ms else float("inf")
    read_ratio = read.rate / healthz.rate if healthz.rate else 0.0
    create_ratio = create.rate / bare.rate if bare.rate else 0.0
    scaling = many.rate / one.rate if one.rate else 0.0
    flood_answered = f"{flood.rate:,.0f} garbage req/s answered (401/429), wrk {flood.client_share:.0%} of the CPU"
    return [
        _ratio_row(
            "audited `GET /alerts/{id}` vs `/healthz`, same process",
            f"≥ {TARGETS['read']}", read, healthz, read_ratio, read_ratio >= TARGETS["read"],
            f"{CONNECTIONS} connections; a child with one alert, read by a recipient (child protection)",
        ),
        _ratio_row(
            "`POST /alerts` vs bare async INSERT endpoint",
            f"≥ {TARGETS['create']} (aim 0.5)", create, bare, create_ratio, create_ratio >= TARGETS["create"],
            f"{CONNECTIONS} connections; a distinct Idempotency-Key per request",
        ),
        _ratio_row(
            "audited read, 16 connections vs 1, `--workers 2`",
            f"≥ {TARGETS['scaling']}×", many, one, scaling, scaling >= TARGETS["scaling"],
            f"p50 {many.p50_ms:.1f} ms vs {one.p50_ms:.1f} ms",
        ),
        {
            "name": "audit linker lag p99 during `POST /alerts`",
            "value": f"p99 ≤ {lag[0]:g} s over {lag[1]:,.0f} events linked (from /metrics)",
            "ratio": lag[0],
            "target": f"≤ {TARGETS['lag']} s",
            "ok": lag[1] > 0 and lag[0] <= TARGETS["lag"],
            "valid": True,
            "detail": "time from recording an event to the sequencer linking it; the histogram bucket holding the 99th",
        },
        _ratio_row(
            "reader's p95 beside 64 garbage-token connections vs alone",
            f"≤ {TARGETS['garbage']}×", beside, alone, garbage_ratio, garbage_ratio <= TARGETS["garbage"],
            f"1 reader connection; {flood_answered}",
        ),
    ]


def main() -> None:
    """`python -m bench.throughput [seconds]`: the rows above, printed (RESULTS.md untouched)."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 15.0
    for row in run(seconds):
        print(f"{row['name']}: ratio {row['ratio']:.3f} (target {row['target']}); {row['value']}; {row['detail']}")


if __name__ == "__main__":
    main()
