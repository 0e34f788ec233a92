"""A month-start absence batch of 100,000 rows on PostgreSQL: rows per second of the full
import (parse, check, upsert, audit, rules) against a plain COPY of the same rows into a table
of the same shape, and how much the process's peak memory grows per 10,000 rows imported."""

from __future__ import annotations

import asyncio
import datetime
import os
import random
import resource
import time
import uuid

import psycopg

from bench.harness import bench_env, fresh_database

WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6)


def make_egn(rng: random.Random) -> tuple[str, datetime.date]:
    birth = datetime.date(2010, 1, 1) + datetime.timedelta(days=rng.randrange(3650))
    month = birth.month + (40 if birth.year >= 2000 else 0)
    digits = f"{birth.year % 100:02d}{month:02d}{birth.day:02d}{rng.randrange(1000):03d}"
    check = sum(int(d) * w for d, w in zip(digits, WEIGHTS, strict=True)) % 11
    return digits + str(0 if check == 10 else check), birth


def run(seconds: float) -> dict[str, object]:
    rows = 100_000 if seconds >= 15 else 20_000
    with fresh_database() as url:
        return asyncio.run(_measure(url, rows))


async def _measure(url: str, count: int) -> dict[str, object]:
    os.environ.update(bench_env(url))
    from service.absences import service
    from service.absences.parsing import csv_rows, decode
    from service.access.principal import Principal, PrincipalKind
    from service.access.vocabulary import OrganisationKind, Role
    from service.auth.keys import pin_secret_for
    from service.children.pin import pin_hash
    from service.core.database import Database, create_engine
    from service.core.settings import load_settings

    settings = load_settings()
    secret = pin_secret_for(settings)
    plain_url = url
    with psycopg.connect(plain_url) as conn:
        # the demo's pupils are already registered: the generated PINs must not be theirs
        known = {row[0] for row in conn.execute("SELECT pin_hash FROM child WHERE pin_hash IS NOT NULL")}
    rng = random.Random(7)
    pins: dict[str, datetime.date] = {}
    while len(pins) < count:
        egn, birth = make_egn(rng)
        if pin_hash(secret, egn) not in known:
            pins[egn] = birth
    with psycopg.connect(plain_url) as conn:
        school_id = conn.execute("SELECT id FROM organisation WHERE code = 'school-koprinka'").fetchone()[0]
        children = [(uuid.uuid4(), egn, birth) for egn, birth in pins.items()]
        with conn.cursor().copy(
            "COPY child (id, pin_hash, given_name, family_name, date_of_birth, sex, municipality_code, created_at) FROM STDIN"
        ) as copy:
            for child_id, egn, birth in children:
                copy.write_row(
                    (
                        child_id,
                        pin_hash(secret, egn),
                        "Bench",
                        "Pupil",
                        birth,
                        "female",
                        "SZR12",
                        datetime.datetime.now(datetime.UTC),
                    )
                )
        with conn.cursor().copy(
            "COPY enrolment (id, child_id, school_id, grade, start_date, created_at) FROM STDIN"
        ) as copy:
            for child_id, _, _ in children:
                copy.write_row(
                    (
                        uuid.uuid4(),
                        child_id,
                        school_id,
                        5,
                        datetime.date(2026, 9, 15),
                        datetime.datetime.now(datetime.UTC),
                    )
                )
        conn.commit()
        # as autovacuum would soon after a school year's enrolments arrive: without statistics
        # the planner takes the school's 100,000 pupils for a handful
        conn.execute("ANALYZE child, enrolment")
    # 2% of pupils over the monthly threshold, as a realistic month might have
    lines = ["ЕГН;Име;Месец;Неизвинени часове;Извинени часове"]
    for i, egn in enumerate(pins):
        lines.append(f"{egn};Ученик {i};2026-10;{12 if i % 50 == 0 else i % 5};{i % 9}")
    body = "\r\n".join(lines).encode("cp1251")

    with psycopg.connect(plain_url) as conn:
        conn.execute("CREATE TEMP TABLE copy_baseline (LIKE absence_report INCLUDING DEFAULTS)")
        started = time.perf_counter()
        with conn.cursor().copy(
            "COPY copy_baseline (id, school_id, child_id, month, unexcused_hours, excused_hours, batch_id, updated_at) FROM STDIN"
        ) as copy:
            batch_id = uuid.uuid4()
            now = datetime.datetime.now(datetime.UTC)
            for child_id, _, _ in children:
                copy.write_row((uuid.uuid4(), school_id, child_id, "2026-10", 3, 1, batch_id, now))
        conn.commit()
        copy_seconds = time.perf_counter() - started

    database = Database(create_engine(settings.effective_database_url, pool_size=2))
    actor = Principal(
        id="bench",
        kind=PrincipalKind.system,
        roles=frozenset({Role.school_admin}),
        organisation_id=school_id,
        organisation_kind=OrganisationKind.school,
        municipality_codes=frozenset({"SZR12"}),
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    async with database.transaction() as session:
        result = await service.submit(
            session,
            actor=actor,
            rows=csv_rows(decode(body)),
            source="bench",
            pin_secret=secret,
            today=datetime.date(2026, 11, 23),
        )
    import_seconds = time.perf_counter() - started
    peak = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before)
    await database.dispose()
    import_rate, copy_rate = count / import_seconds, count / copy_seconds
    per_10k_mb = peak / (count / 10_000) / 2**20
    return {
        "name": f"absence CSV import ({count:,} rows, PostgreSQL)",
        "value": f"{import_rate:,.0f} rows/s imported vs {copy_rate:,.0f} rows/s plain COPY; "
        f"{len(result.alerts_raised)} alerts raised",
        "ratio": import_rate / copy_rate,
        "target": "report (memory: a few tens of MB per 10,000 rows)",
        "ok": per_10k_mb < 40,
        "detail": f"peak RSS growth {peak / 2**20:.0f} MB = {per_10k_mb:.1f} MB per 10,000 rows; "
        f"import {import_seconds:.1f} s, COPY {copy_seconds:.2f} s",
    }
