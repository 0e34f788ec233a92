"""`python -m bench [--quick] [NAME ...]`: run benchmarks on PostgreSQL, print one line per
figure with its ratio against a baseline measured in the same run, and write bench/RESULTS.md
(machine, versions, date, figures). Throughput is driven from outside by `wrk` (bench/wrk.py),
15 s a run (5 s with `--quick`); a ratio whose baseline was client-bound is marked invalid."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from bench import absence_import, alert_latency, audit_throughput, audit_verify, memory, throughput, worklist_import
from bench.wrk import find_wrk

Row = dict[str, object]
BENCHMARKS: dict[str, Callable[[float], Row | list[Row]]] = {
    "throughput": throughput.run,
    "audit": audit_throughput.run,
    "absences": absence_import.run,
    "verify": audit_verify.run,
    "memory": memory.run,
    "latency": alert_latency.run,
    "worklists": worklist_import.run,
}
RESULTS = Path(__file__).with_name("RESULTS.md")
SECONDS, QUICK_SECONDS = 15.0, 5.0
#: the hand-written part of RESULTS.md (why a target is missed, from the profile), kept across runs
PROFILES_HEADING = "## Missed targets and the profiles behind them"


def _kept_profiles() -> list[str]:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    start = text.find(PROFILES_HEADING)
    return text[start:].rstrip("\n").split("\n") + [""] if start >= 0 else []


def _machine() -> str:
    server = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("fastapi", "sqlalchemy", "psycopg", "uvicorn"))
    wrk = subprocess.run([find_wrk(), "--version"], capture_output=True, text=True).stdout.split("[")[0].strip()
    return (
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{server or 'psql not found'}; {versions}; {wrk}"
    )


def _met(row: Row) -> str:
    if row.get("valid") is False:
        return "invalid (client-bound)"
    return "yes" if row["ok"] else "no"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (5 s each instead of 15 s)")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)")
    args = parser.parse_args(argv)
    seconds = QUICK_SECONDS if args.quick else SECONDS
    rows: list[Row] = []
    for name in args.names or list(BENCHMARKS):
        outcome = BENCHMARKS[name](seconds)
        for result in outcome if isinstance(outcome, list) else [outcome]:
            mark = "ok" if result["ok"] else "INVALID" if result.get("valid") is False else "BELOW TARGET"
            print(f"{result['name']}: {result['value']}; ratio {result['ratio']:.3g} (target {result['target']}) {mark}")
            rows.append(result)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Measured {stamp} with `python -m bench{' --quick' if args.quick else ''}` on {_machine()}.",
        "",
        "| benchmark | measured | ratio to baseline | target | met | notes |",
        "|---|---|---|---|---|---|",
        *[
            f"| {r['name']} | {r['value']} | {r['ratio']:.3g} | {r['target']} | {_met(r)} | {r['detail']} |"
            for r in rows
        ],
        "",
        *_kept_profiles(),
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
