"""`python -m bench.profile SCENARIO [seconds]`: py-spy on one `obhvat serve` process while `wrk`
drives it (16 connections; `garbage` is 64 connections of garbage bearer tokens), then the top
frames by own and by inclusive share of the samples. SCENARIO is `read` (the audited
`GET /alerts/{id}`), `create` (`POST /alerts`) or `garbage`. The raw stacks are kept in
var/bench/profile-SCENARIO.txt (py-spy's collapsed format, for a flame graph)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

from bench.harness import ROOT, fresh_database, server_process
from bench.throughput import CONNECTIONS, GARBAGE_CONNECTIONS, LOG, prepare
from bench.wrk import Wrk

TOP = 25


def _frame(frame: str) -> tuple[str, str]:
    """`function (path/to/file.py:123)` as (`function (file.py)`, the package it belongs to)."""
    name, _, where = frame.partition(" (")
    path = where.split(":")[0].split("site-packages/")[-1]  # py-spy shortens to the package's path
    top = path.split("/")[0] if "/" in path else "python"
    package = "obhvat" if top == "service" else top
    return (f"{name} ({Path(path).name})" if where else name), package


def summarise(collapsed: Path, top: int = TOP) -> str:
    """Own time by function and by package, and inclusive time of Obhvat's own functions."""
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        frames = [_frame(frame) for frame in stack.split(";")]
        total += samples
        own[frames[-1][0]] += samples
        packages[frames[-1][1]] += samples
        for frame in {name for name, package in frames if package == "obhvat"}:
            inclusive[frame] += samples
    if not total:
        return "no samples"
    lines = [f"{total:,} samples on the CPU", "", "own time by package:"]
    lines += [f"  {100 * n / total:5.1f}%  {package}" for package, n in packages.most_common(12)]
    lines += ["", "own time by function:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "inclusive time of Obhvat's functions:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    scenario = argv[0] if argv else "read"
    seconds = float(argv[1]) if len(argv) > 1 else 15.0
    output = ROOT / "var" / "bench" / f"profile-{scenario}.txt"
    spy = str(Path(sys.executable).with_name("py-spy"))
    with fresh_database() as url, server_process(
        url, log=LOG, command=[sys.executable, "-m", "service.cli", "serve"]
    ) as (base, pid):
        fixture, _ = prepare(base)
        wrk = Wrk(base, pid)
        script, connections, env = {
            "read": ("get.lua", CONNECTIONS, {"BENCH_PATH": fixture.alert_path, "BENCH_TOKEN": fixture.reader}),
            "create": (
                "create_alert.lua",
                CONNECTIONS,
                {"BENCH_TOKEN": fixture.school, "BENCH_CHILDREN": ",".join(fixture.children),
                 "BENCH_NONCE": uuid.uuid4().hex},
            ),
            "garbage": ("garbage.lua", GARBAGE_CONNECTIONS, {"BENCH_PATH": fixture.alert_path}),
        }[scenario]
        recorder = subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--duration",
             str(round(seconds)), "--output", str(output), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        result = wrk.run(scenario, script, connections=connections, seconds=seconds + 1, env=env)
        _, errors = recorder.communicate(timeout=60)
        if recorder.returncode != 0:
            raise RuntimeError(f"py-spy failed: {errors.decode()}")
    print(f"{scenario}: {result.summary()}; errors {result.errors}, non-2xx {result.status_errors}")
    print(summarise(output))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
