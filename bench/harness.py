"""Shared benchmark plumbing: a fresh PostgreSQL database, a server process, a load driver.

The robustness tests (tests/robustness) use the database and the server too, with their own
PostgreSQL URL, database name prefix, environment and server log file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

POSTGRES_ADMIN_URL = os.environ.get("OBHVAT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def fresh_database(
    *, admin_url: str = POSTGRES_ADMIN_URL, prefix: str = "obhvat_bench", env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """A new, migrated PostgreSQL database with the demo data; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rpartition("/")[0] + "/" + name
    try:
        env = {**bench_env(url), **(env or {})}
        subprocess.run(
            [sys.executable, "-m", "service.cli", "db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT
        )
        subprocess.run(
            [sys.executable, "-m", "service.cli", "demo", "load"], env=env, check=True, capture_output=True, cwd=ROOT
        )
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_env(database_url: str) -> dict[str, str]:
    data_dir = ROOT / "var" / "bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "OBHVAT_DATABASE_URL": database_url,
        "OBHVAT_DATA_DIR": str(data_dir),
        "OBHVAT_LOG_LEVEL": "WARNING",
        "OBHVAT_ARGON2_TIME_COST": "1",
        "OBHVAT_ARGON2_MEMORY_KIB": "1024",
        "OBHVAT_DB_POOL_SIZE": "20",
        "OBHVAT_PIN_SECRET": "bench-pin-secret-that-is-long-enough-0123456789",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(
    database_url: str, *extra: str, env: Mapping[str, str] | None = None, log: Path | None = None
) -> Iterator[str]:
    """`bench/serve.py` (the real app, optionally altered for a baseline) on a free port."""
    with server_process(database_url, *extra, env=env, log=log) as (base, _pid):
        yield base


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory so far (Linux: VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc: peak memory needs Linux")


@contextlib.contextmanager
def server_process(
    database_url: str,
    *extra: str,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    command: Sequence[str] = (sys.executable, "-m", "bench.serve"),
) -> Iterator[tuple[str, int]]:
    """As `server`, also handing out the server's pid. `env` adds to (or overrides) the
    benchmark environment; `log`, when given, is a file that receives the server's stderr;
    `command` (given `--port` and `extra`) is the server, by default `bench/serve.py`."""
    port = free_port()
    with contextlib.ExitStack() as files:
        stderr = files.enter_context(log.open("ab")) if log is not None else subprocess.PIPE
        process = subprocess.Popen(
            [*command, "--port", str(port), *extra],
            env={**bench_env(database_url), **(env or {})},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None:
                output = process.stderr.read().decode() if process.stderr else log.read_text() if log else ""
                raise RuntimeError(output or "server died")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} did not answer /healthz within 30 s")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def drive(
    clients: int,
    seconds: float,
    request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    *,
    base_url: str,
    expect: int,
) -> LoadResult:
    """`clients` concurrent loops calling `request` for `seconds`; counts answers other than
    `expect` as errors."""
    result = LoadResult()
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def loop(worker: int) -> None:
            n = 0
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = await request(client, worker * 1_000_000 + n)
                result.latencies.append(time.perf_counter() - started)
                result.requests += 1
                if response.status_code != expect:
                    result.errors += 1
                n += 1

        started = time.monotonic()
        await asyncio.gather(*(loop(i) for i in range(clients)))
        result.seconds = time.monotonic() - started
    return result
