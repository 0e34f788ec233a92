"""A national-scale list of children to find (50,000 rows) on PostgreSQL: rows per second of the
full import (parse, check, register children, raise not_enrolled alerts, route, audit) against a
plain COPY of the same number of alert rows into a table of the same shape."""

from __future__ import annotations

import asyncio
import datetime
import os
import random
import time
import uuid

import psycopg

from bench.absence_import import make_egn
from bench.harness import bench_env, fresh_database

SETTLEMENTS = ("35167", "83185", "38488", "16691", "27499", "06896")
#: one row in ten names a child the registers know without an ЕГН
PROVISIONAL_EVERY = 10


def run(seconds: float) -> dict[str, object]:
    rows = 50_000 if seconds >= 20 else 10_000
    with fresh_database() as url:
        return asyncio.run(_measure(url, rows))


def _list(count: int) -> bytes:
    rng = random.Random(11)
    lines = ["ЕГН;Име;Фамилия;Година на раждане;Община;Населено място;Причина;Клас"]
    pins: set[str] = set()
    for i in range(count):
        settlement = SETTLEMENTS[i % len(SETTLEMENTS)]
        if i % PROVISIONAL_EVERY == 0:
            lines.append(f";Дете{i};Търсено;{2012 + i % 8};SZR12;{settlement};не е записан;")
            continue
        egn, _ = make_egn(rng)
        while egn in pins:
            egn, _ = make_egn(rng)
        pins.add(egn)
        lines.append(f"{egn};Дете{i};Търсено;;SZR12;{settlement};не е записан;{i % 8}")
    return "\r\n".join(lines).encode("cp1251")


async def _measure(url: str, count: int) -> dict[str, object]:
    os.environ.update(bench_env(url))
    from service.access.principal import Principal, PrincipalKind
    from service.access.vocabulary import OrganisationKind, Role
    from service.auth.keys import pin_secret_for
    from service.core.database import Database, create_engine
    from service.core.settings import load_settings
    from service.worklists import service
    from service.worklists.parsing import decode, worklist_rows

    settings = load_settings()
    body = _list(count)
    with psycopg.connect(url) as conn:
        office = conn.execute("SELECT id FROM organisation WHERE code = 'rue-stara-zagora'").fetchone()[0]
        source = conn.execute("SELECT id FROM child LIMIT 1").fetchone()[0]
        conn.execute("CREATE TEMP TABLE copy_baseline (LIKE alert INCLUDING DEFAULTS)")
        started = time.perf_counter()
        now = datetime.datetime.now(datetime.UTC)
        with conn.cursor().copy(
            "COPY copy_baseline (id, child_id, municipality_code, source_organisation_id, author_id, type, severity, "
            "details, legal_basis, status, version, dedup_key, settlement_code, created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(count):
                copy.write_row((uuid.uuid4(), source, "SZR12", office, "bench", "not_enrolled", "concern",
                                '{"school_year": "2026/2027"}', "public_task", "open", 1,
                                f"not_enrolled:2026/2027:{i}", SETTLEMENTS[i % len(SETTLEMENTS)], now, now))
        conn.commit()
        copy_seconds = time.perf_counter() - started

    database = Database(create_engine(settings.effective_database_url, pool_size=2))
    actor = Principal(
        id="bench", kind=PrincipalKind.system, roles=frozenset({Role.education_officer}), organisation_id=office,
        organisation_kind=OrganisationKind.education_authority, municipality_codes=frozenset({"SZR12"}),
    )
    started = time.perf_counter()
    async with database.transaction() as session:
        result = await service.import_list(
            session, actor=actor, purpose=None, rows=worklist_rows(decode(body)), school_year="2026/2027",
            pin_secret=pin_secret_for(settings), today=datetime.date(2026, 11, 23),
        )
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    async with database.transaction() as session:
        again = await service.import_list(
            session, actor=actor, purpose=None, rows=worklist_rows(decode(body)), school_year="2026/2027",
            pin_secret=pin_secret_for(settings), today=datetime.date(2026, 11, 23),
        )
    reimport_seconds = time.perf_counter() - started
    await database.dispose()
    import_rate, copy_rate = count / import_seconds, count / copy_seconds
    return {
        "name": f"list of children to find ({count:,} rows, PostgreSQL)",
        "value": f"{import_rate:,.0f} rows/s imported vs {copy_rate:,.0f} rows/s plain COPY; "
        f"{result.alerts_raised} alerts raised, {result.provisional_children} provisional children",
        "ratio": import_rate / copy_rate,
        "target": "report (a national list imports in minutes)",
        "ok": import_seconds < 600 and again.alerts_raised == 0,
        "detail": f"import {import_seconds:.1f} s, re-import {reimport_seconds:.1f} s "
        f"({again.alerts_unchanged} unchanged), COPY {copy_seconds:.2f} s",
    }
