"""Load from outside with `wrk`, a C load generator, so the client is not what is measured.

Bodies and headers come from the Lua scripts in bench/lua (parameters through the environment).
Each run reports the load generator's own CPU time (from the kernel's accounting of the exited
`wrk` process) and the server's (from /proc, the server process and its workers), so a result
where the client, not the server, was the limit can be refused."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("lua")
#: a run is client-bound when the load generator took at least this share of the CPU the server
#: took: on a machine whose cores the client and server share, the client's CPU is the server's loss
CLIENT_BOUND_SHARE = 0.5


def find_wrk() -> str:
    """The `wrk` binary: on PATH, else installed from Debian's package when running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(
            "wrk is not installed: the benchmarks drive the server with it. "
            "Install Debian's package (`sudo apt-get install wrk`) and run again."
        )
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return found


def _ticks(pid: int) -> int:
    """User and system CPU ticks of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def _tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds used so far by the process and each of its descendants."""
    hertz = os.sysconf("SC_CLK_TCK")
    return {p: _ticks(p) / hertz for p in _tree(pid)}


@dataclass(frozen=True)
class WrkResult:
    label: str
    connections: int
    requests: int
    seconds: float
    errors: int  # socket errors and timeouts; answers other than 2xx/3xx are `status_errors`
    status_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    client_cpu: float  # CPU seconds of wrk
    server_cpu: float  # CPU seconds of the server process and its workers during the run

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def client_share(self) -> float:
        """The load generator's share of the machine's CPU over the run."""
        return self.client_cpu / (self.seconds * (os.cpu_count() or 1)) if self.seconds else 0.0

    @property
    def client_bound(self) -> bool:
        return self.client_cpu >= CLIENT_BOUND_SHARE * self.server_cpu

    def summary(self) -> str:
        return (
            f"{self.rate:,.0f} req/s, p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, p99 {self.p99_ms:.1f} ms; "
            f"wrk {self.client_share:.0%} of the CPU ({self.client_cpu:.1f} s), "
            f"server {self.server_cpu / self.seconds:.2f} cores"
        )


class Wrk:
    """Runs `wrk` against one server (its base URL and the pid whose CPU is counted)."""

    def __init__(self, base_url: str, server_pid: int) -> None:
        self.binary = find_wrk()
        self.base_url = base_url
        self.server_pid = server_pid

    def start(self, script: str, *, connections: int, seconds: float, env: Mapping[str, str]) -> subprocess.Popen[str]:
        threads = min(2, connections)
        return subprocess.Popen(
            [
                self.binary,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                str(LUA / script),
                self.base_url,
            ],
            env={**os.environ, "BENCH_LUA_DIR": str(LUA), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, label: str, process: subprocess.Popen[str], connections: int, started: float) -> WrkResult:
        """Wait for a started run; its figures, with wrk's CPU from the kernel's accounting."""
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
        output = (process.stdout.read() if process.stdout else "") + (process.stderr.read() if process.stderr else "")
        line = next((line for line in output.splitlines() if line.startswith("BENCH-RESULT ")), None)
        if process.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({label}):\n{output}")
        figures = {key: int(value) for key, value in (item.split("=") for item in line.split()[1:])}
        return WrkResult(
            label=label,
            connections=connections,
            requests=figures["requests"],
            seconds=figures["duration_us"] / 1e6 or elapsed,
            errors=figures["connect"] + figures["read"] + figures["write"] + figures["timeout"],
            status_errors=figures["status"],
            p50_ms=figures["p50_us"] / 1000,
            p95_ms=figures["p95_us"] / 1000,
            p99_ms=figures["p99_us"] / 1000,
            client_cpu=usage.ru_utime + usage.ru_stime,
            server_cpu=0.0,
        )

    def run(self, label: str, script: str, *, connections: int, seconds: float, env: Mapping[str, str]) -> WrkResult:
        """One run of `script`; the server's CPU over the run is counted in the result."""
        before = tree_cpu_seconds(self.server_pid)
        started = time.monotonic()
        process = self.start(script, connections=connections, seconds=seconds, env=env)
        result = self.finish(label, process, connections, started)
        after = tree_cpu_seconds(self.server_pid)
        server = sum(after.values()) - sum(before.get(pid, 0.0) for pid in after)
        return dataclasses.replace(result, server_cpu=server)
