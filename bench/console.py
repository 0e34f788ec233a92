"""The console's pages against the API calls behind them: p95 of a page within 2× the API's.

On PostgreSQL with the demo data and 20 alerts raised through the API by Koprinka's school (so
Kazanlak's child protection officer has an inbox of 20), the officer reads, signed in to the
console with a session cookie and to the API with a bearer token:

- `/inbox` against `GET /api/v1/alerts?status=open` (the list the page is built from);
- `/alerts/{id}` against `GET /api/v1/alerts/{id}`;
- `/children/{id}` against the three calls an integrator makes to show the same: the record
  (`GET /api/v1/children/{id}`), the timeline (`.../history`) and the guardian's consents
  (`.../consents`). A page built from several calls is held to 2× the sum of their p95s; each
  call's own ratio is printed too.

Each pair is driven by `wrk` (a Lua `done` hook prints p50, p95 and the errors; any answer but 200
is an error) when it is installed, else by the harness's httpx loops, `CLIENTS` at a time, page
and API in alternate short turns so that whatever else the machine is doing weighs on both.
Every read is audited as in production, and every console request also touches its session row.

`python -m bench.console [--quick]` prints one line per pair and the worst ratio."""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import LoadResult, drive, fresh_database, server

TARGET = 2.0
CLIENTS = 2
ALERTS = 20
OFFICER = "cp-kazanlak.cp"
TEACHER = "school-koprinka.staff"
PUPIL_PIN = "1152035081"
DEMO_PASSWORD = "obhvat-demo-2026"  # noqa: S105 - the published demo password
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("obhvat p50 %d p95 %d requests %d errors %d\\n",
    latency:percentile(50), latency:percentile(95), summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""
WRK_LINE = re.compile(r"obhvat p50 (\d+) p95 (\d+) requests (\d+) errors (\d+)")


@dataclass(frozen=True)
class Pair:
    name: str
    page: str
    #: the API calls the page shows the result of, by name
    api: dict[str, str]


@dataclass
class Figures:
    p50: float = 0.0
    p95: float = 0.0
    requests: int = 0
    errors: int = 0
    turns: int = 0

    def add(self, p50: float, p95: float, requests: int, errors: int) -> None:
        """Turns are averaged: each turn's percentiles weigh alike."""
        self.p50 = (self.p50 * self.turns + p50) / (self.turns + 1)
        self.p95 = (self.p95 * self.turns + p95) / (self.turns + 1)
        self.requests += requests
        self.errors += errors
        self.turns += 1


async def _prepare(base_url: str) -> tuple[dict[str, str], dict[str, str], list[Pair]]:
    """The officer's bearer header and console cookie, and the pages to read."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def token(username: str) -> dict[str, str]:
            answer = await client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": username, "password": DEMO_PASSWORD},
            )
            return {"Authorization": f"Bearer {answer.raise_for_status().json()['access_token']}"}

        teacher = await token(TEACHER)
        child_id = (
            await client.post("/api/v1/children/lookup", json={"pin": PUPIL_PIN}, headers=teacher)
        ).raise_for_status().json()["id"]
        alert_id = ""
        for month in range(ALERTS):
            raised = await client.post(
                "/api/v1/alerts",
                headers=teacher,
                json={"child_id": child_id, "type": "unexcused_absences",
                      "details": {"month": f"{2025 + month // 12}-{month % 12 + 1:02d}", "unexcused_hours": 8 + month}},
            )
            alert_id = raised.raise_for_status().json()["id"]
        officer = await token(OFFICER)

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as browser:
        form = (await browser.get("/login")).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        if csrf is None:
            raise RuntimeError("the sign-in form has no CSRF token")
        signed = await browser.post(
            "/login",
            data={"username": OFFICER, "password": DEMO_PASSWORD, "csrf_token": csrf.group(1), "next": "/"},
        )
        if signed.status_code != 303:
            raise RuntimeError(f"console sign-in answered {signed.status_code}")
        session = browser.cookies.get("obhvat_session")
    cookie = {"Cookie": f"obhvat_session={session}"}
    pairs = [
        Pair("inbox", "/inbox", {"list": "/api/v1/alerts?status=open&limit=100"}),
        Pair("alert page", f"/alerts/{alert_id}", {"alert": f"/api/v1/alerts/{alert_id}"}),
        Pair("child page", f"/children/{child_id}", {
            call: f"/api/v1/children/{child_id}{part}"
            for call, part in (("record", ""), ("history", "/history"), ("consents", "/consents"))
        }),
    ]
    return officer, cookie, pairs


def _wrk(base_url: str, path: str, headers: dict[str, str], seconds: float, script: Path) -> tuple[float, float, int, int]:
    command = ["wrk", "-t1", f"-c{CLIENTS}", f"-d{max(1, round(seconds))}s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(  # noqa: S603 - fixed arguments
        [*command, base_url + path], capture_output=True, text=True, check=True
    ).stdout
    found = WRK_LINE.search(output)
    if found is None:
        raise RuntimeError(f"wrk printed no figures: {output[-500:]}")
    p50, p95, requests, errors = (int(value) for value in found.groups())
    return p50 / 1e6, p95 / 1e6, requests, errors


def _httpx(base_url: str, path: str, headers: dict[str, str], seconds: float) -> tuple[float, float, int, int]:
    async def read(client: httpx.AsyncClient, _: int) -> httpx.Response:
        return await client.get(path, headers=headers)

    result: LoadResult = asyncio.run(drive(CLIENTS, seconds, read, base_url=base_url, expect=200))
    return result.percentile(0.5), result.percentile(0.95), result.requests, result.errors


def run(seconds: float) -> dict[str, object]:
    use_wrk = shutil.which("wrk") is not None
    with fresh_database() as url, server(url) as base_url, tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "p95.lua"
        script.write_text(WRK_SCRIPT)
        officer, cookie, pairs = asyncio.run(_prepare(base_url))

        def measure(path: str, headers: dict[str, str], turn_seconds: float) -> tuple[float, float, int, int]:
            if use_wrk:
                return _wrk(base_url, path, headers, turn_seconds, script)
            return _httpx(base_url, path, headers, turn_seconds)

        sides = [(pair.name, "page", pair.page, cookie) for pair in pairs] + [
            (pair.name, call, path, officer) for pair in pairs for call, path in pair.api.items()
        ]
        figures = {(name, side): Figures() for name, side, _, _ in sides}
        rounds = max(2, round(seconds / 4))
        for turn in range(rounds + 1):
            for name, side, path, headers in sides:
                measured = measure(path, headers, 1.0 if turn == 0 else seconds / rounds)
                if turn:  # the first round warms up
                    figures[name, side].add(*measured)
    behind = {pair.name: sum(figures[pair.name, call].p95 for call in pair.api) for pair in pairs}
    ratios = {pair.name: figures[pair.name, "page"].p95 / behind[pair.name] for pair in pairs}
    worst = max(ratios.values())
    errors = sum(f.errors for f in figures.values())
    each = {
        f"{pair.name} vs {call}": figures[pair.name, "page"].p95 / figures[pair.name, call].p95
        for pair in pairs if len(pair.api) > 1 for call in pair.api
    }

    def ms(f: Figures) -> str:
        return f"{f.p50 * 1000:.1f}/{f.p95 * 1000:.1f} ms"

    return {
        "name": f"console page p95 vs the API calls behind it ({CLIENTS} clients, {'wrk' if use_wrk else 'httpx'})",
        "value": "; ".join(
            f"{pair.name} p50/p95 {ms(figures[pair.name, 'page'])} vs "
            + " + ".join(f"{call} {ms(figures[pair.name, call])}" for call in pair.api)
            for pair in pairs
        ),
        "ratio": worst,
        "target": f"≤ {TARGET}",
        "ok": worst <= TARGET and errors == 0,
        "detail": f"ratios {', '.join(f'{name} {ratio:.2f}' for name, ratio in ratios.items())}; "
        f"each call alone: {', '.join(f'{name} {ratio:.2f}' for name, ratio in each.items())}; "
        f"{sum(f.requests for f in figures.values()):,} requests, errors {errors}",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short turns (about half a minute in all)")
    args = parser.parse_args(argv)
    result = run(8.0 if args.quick else 30.0)
    mark = "ok" if result["ok"] else "BELOW TARGET"
    print(f"{result['name']}: {result['value']}; ratio {result['ratio']:.2f} (target {result['target']}) {mark}")
    print(result["detail"])
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
