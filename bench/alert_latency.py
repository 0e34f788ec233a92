"""Read latency over HTTP at 10,000 and at 1,000,000 alerts (200,000 with `--quick`): the inbox
feed (`GET /inbox`), the alert list (`GET /alerts`) and a child's case history, each read by
Kazanlak's child protection officer; p95 at the large size against p95 at the small one.

Both sizes come from the same generator, each in a fresh database, written by SQL rather than
through the API: a region of 20 municipalities (Kazanlak and 19 synthetic ones, each with a child
protection department, a municipality and three schools), 10 alerts per child (100,000 children
at a million alerts), raised over two years by the child's school and routed as the routing rules
route them (absences: child protection leads, with the municipality; dropout risk: the
municipality leads). So Kazanlak's department receives one alert in 20. Alerts older than 120
days are closed (one in four with an action recorded), the rest acknowledged, but for the newest
200, which are overdue: ten for Kazanlak at either size. Every recipient of an alert shares one
feed position, in time order, after the demo data's, as the service stamps them.

Pages are of 50, the first and a deep one alternately (deep: half-way through Kazanlak's share,
the cursor made as the service makes it). The history is of a Kazanlak pupil with 20 alerts,
raised through the API. Reads are audited as in production: every page read appends to the
audit trail. Both databases, each with its server, stand side by side and are read in short turns,
so that whatever else the machine is doing weighs on both sizes alike.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import psycopg
from psycopg import sql

from bench.harness import LoadResult, drive, fresh_database, server
from service.core.pagination import encode_cursor, time_and_id_cursor

TARGET = 1.5
CLIENTS = 2
MUNICIPALITIES = 20  # Kazanlak is one of them: its department receives one alert in 20
ALERTS_PER_CHILD = 10
OVERDUE = 200  # the newest alerts, not yet acknowledged and past their deadline
HISTORY_ALERTS = 20
OFFICER = "cp-kazanlak.cp"
HISTORY_PIN = "1152035081"  # a Kazanlak pupil of school-koprinka
PAGE = 50

#: 19 synthetic municipalities, their organisations, and a table of every municipality's (the
#: demo's Kazanlak as number 0) department, municipality and schools
_PLACES = """
INSERT INTO organisation (id, code, kind, name, created_at)
SELECT md5('bench-org-' || m || r.role)::uuid, 'bench-' || r.role || '-' || m, r.kind, 'Bench ' || r.role || ' ' || m,
       now() - interval '3 years'
FROM generate_series(1, %(municipalities)s - 1) m,
     (VALUES ('cp', 'child_protection'), ('mun', 'municipality'),
             ('school1', 'school'), ('school2', 'school'), ('school3', 'school')) r(role, kind);
INSERT INTO organisation_municipality (organisation_id, municipality_code)
SELECT md5('bench-org-' || m || r.role)::uuid, 'BEN' || lpad(m::text, 2, '0')
FROM generate_series(1, %(municipalities)s - 1) m,
     (VALUES ('cp'), ('mun'), ('school1'), ('school2'), ('school3')) r(role);
CREATE TEMP TABLE bench_place AS
SELECT m, 'BEN' || lpad(m::text, 2, '0') AS code, md5('bench-org-' || m || 'cp')::uuid AS cp,
       md5('bench-org-' || m || 'mun')::uuid AS mun,
       ARRAY[md5('bench-org-' || m || 'school1')::uuid, md5('bench-org-' || m || 'school2')::uuid,
             md5('bench-org-' || m || 'school3')::uuid] AS schools
FROM generate_series(1, %(municipalities)s - 1) m
UNION ALL
SELECT 0, 'SZR12', (SELECT id FROM organisation WHERE code = 'cp-kazanlak'),
       (SELECT id FROM organisation WHERE code = 'mun-kazanlak'),
       ARRAY(SELECT id FROM organisation
             WHERE code IN ('school-koprinka', 'school-gorno-cherkovishte', 'school-kazanlak') ORDER BY code);
"""

#: child c lives in municipality c mod 20; alert n (n = 1..N, in time order over two years,
#: ending five days ago) is about child n mod C, so each child's alerts are spread over time
_ALERTS = """
INSERT INTO child (id, pin_hash, sex, date_of_birth, municipality_code, created_at)
SELECT md5('bench-child-' || c)::uuid, md5('bench-child-' || c) || md5('bench-pin-' || c),
       CASE WHEN c %% 2 = 0 THEN 'female' ELSE 'male' END, date '2009-09-01' + c %% 4000, p.code,
       now() - interval '3 years'
FROM generate_series(0, %(children)s - 1) c JOIN bench_place p ON p.m = c %% %(municipalities)s;

CREATE TEMP TABLE bench_alert AS
SELECT *, at < now() - interval '120 days' AS closed
FROM (
    SELECT n, md5('bench-alert-' || n)::uuid AS id, md5('bench-child-' || n %% %(children)s)::uuid AS child_id,
           p.code, p.cp, p.mun, p.schools[1 + (n / %(children)s + n) %% 3] AS school, n %% 10 < 8 AS absences,
           now() - interval '735 days' + (n * interval '730 days') / %(alerts)s AS at,
           n > %(alerts)s - %(overdue)s AS overdue
    FROM generate_series(1, %(alerts)s) n JOIN bench_place p ON p.m = n %% %(children)s %% %(municipalities)s
) generated;

INSERT INTO alert (id, child_id, municipality_code, source_organisation_id, author_id, type, severity, details,
                   legal_basis, status, outcome, version, created_at, updated_at, closed_at)
SELECT id, child_id, code, school, 'bench-teacher',
       CASE WHEN absences THEN 'unexcused_absences' ELSE 'dropout_risk' END, 'concern',
       CASE WHEN absences THEN json_build_object('month', to_char(at, 'YYYY-MM'), 'unexcused_hours', 6 + n %% 40)
            ELSE json_build_object('months_over_threshold', 1 + n %% 5, 'indicators', json_build_array('absences'))
       END,
       CASE WHEN absences THEN 'legal_obligation' ELSE 'public_task' END,
       CASE WHEN closed THEN 'closed' ELSE 'open' END, CASE WHEN closed THEN 'returned_to_school' END,
       CASE WHEN closed THEN 4 ELSE 2 END, at,
       CASE WHEN closed THEN at + interval '30 days' WHEN overdue THEN at ELSE at + interval '1 day' END,
       CASE WHEN closed THEN at + interval '30 days' END
FROM bench_alert;

INSERT INTO alert_recipient (id, alert_id, organisation_id, is_lead, state, outcome, delivered_at, acknowledged_at,
                             done_at, due_at, overdue_at, change_seq)
SELECT md5('bench-recipient-' || a.n || r.lead)::uuid, a.id, CASE WHEN r.lead = a.absences THEN a.cp ELSE a.mun END,
       r.lead, CASE WHEN a.closed THEN 'done' WHEN a.overdue THEN 'delivered' ELSE 'acknowledged' END,
       CASE WHEN a.closed THEN 'returned_to_school' END, a.at,
       CASE WHEN NOT a.overdue THEN a.at + interval '1 day' END,
       CASE WHEN a.closed THEN a.at + interval '30 days' END,
       a.at + interval '3 days', CASE WHEN a.overdue THEN a.at + interval '3 days' END,
       %(first_position)s + a.n
FROM bench_alert a CROSS JOIN (VALUES (true), (false)) r(lead);

INSERT INTO alert_action (id, alert_id, organisation_id, author_id, kind, text, restricted, created_at)
SELECT md5('bench-action-' || n)::uuid, id, CASE WHEN absences THEN cp ELSE mun END, 'bench-officer',
       'contact_family', 'Talked to the family.', false, at + interval '2 days'
FROM bench_alert WHERE closed AND n %% 4 = 0;

UPDATE feed_counter SET seq = %(first_position)s + %(alerts)s WHERE id = 1;
"""


#: the service's indexes on the tables written, but for those of constraints (primary keys)
_SECONDARY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE tablename IN ('child', 'alert', 'alert_recipient', 'alert_action')
  AND indexname NOT IN (SELECT conname FROM pg_constraint)
"""

#: rows whose foreign keys point nowhere (the load skips the per-row checks, so they are made here)
_DANGLING = """
SELECT (SELECT count(*) FROM alert a LEFT JOIN child c ON c.id = a.child_id WHERE c.id IS NULL)
     + (SELECT count(*) FROM alert a LEFT JOIN organisation o ON o.id = a.source_organisation_id WHERE o.id IS NULL)
     + (SELECT count(*) FROM alert_recipient r LEFT JOIN alert a ON a.id = r.alert_id WHERE a.id IS NULL)
     + (SELECT count(*) FROM alert_recipient r LEFT JOIN organisation o ON o.id = r.organisation_id WHERE o.id IS NULL)
     + (SELECT count(*) FROM alert_action x LEFT JOIN alert a ON a.id = x.alert_id WHERE a.id IS NULL)
"""


def _generate(url: str, alerts: int) -> tuple[int, float]:
    """Write `alerts` alerts as described above; returns the number of children and seconds taken.

    Loaded as PostgreSQL's manual advises for bulk loads: without the secondary indexes, built
    again afterwards from their own definitions (and so checked: a duplicate would fail the
    unique ones), and without per-row foreign key triggers, checked in one query instead."""
    started = time.monotonic()
    children = alerts // ALERTS_PER_CHILD
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # no foreign key triggers
        conn.execute("SET maintenance_work_mem = '256MB'")
        indexes = conn.execute(_SECONDARY_INDEXES).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        first_position = conn.execute("SELECT seq FROM feed_counter WHERE id = 1").fetchone()[0]  # type: ignore[index]
        cursor = psycopg.ClientCursor(conn)  # several statements in one go
        params = {
            "alerts": alerts,
            "children": children,
            "municipalities": MUNICIPALITIES,
            "overdue": OVERDUE,
            "first_position": first_position,
        }
        cursor.execute(_PLACES, params)  # type: ignore[arg-type]
        cursor.execute(_ALERTS, params)  # type: ignore[arg-type]
        for _, definition in indexes:
            conn.execute(definition)
        dangling = conn.execute(_DANGLING).fetchone()[0]  # type: ignore[index]
        if dangling:
            raise RuntimeError(f"the generator wrote {dangling} rows with foreign keys pointing nowhere")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return children, time.monotonic() - started


def _deep_cursors(url: str) -> tuple[str, str, int]:
    """Cursors half-way through Kazanlak's inbox (oldest first) and alert list (newest first),
    and the size of its inbox."""
    with psycopg.connect(url) as conn:
        org = conn.execute("SELECT id FROM organisation WHERE code = 'cp-kazanlak'").fetchone()[0]  # type: ignore[index]
        size = conn.execute("SELECT count(*) FROM alert_recipient WHERE organisation_id = %s", (org,)).fetchone()[0]  # type: ignore[index]
        position = conn.execute(
            "SELECT change_seq FROM alert_recipient WHERE organisation_id = %s ORDER BY change_seq OFFSET %s LIMIT 1",
            (org, size // 2),
        ).fetchone()[0]  # type: ignore[index]
        created_at, alert_id = conn.execute(  # type: ignore[misc]
            "SELECT a.created_at, a.id FROM alert a JOIN alert_recipient r ON r.alert_id = a.id "
            "WHERE r.organisation_id = %s ORDER BY a.created_at DESC, a.id DESC OFFSET %s LIMIT 1",
            (org, size // 2),
        ).fetchone()
    return encode_cursor([position]), time_and_id_cursor((created_at, alert_id)) or "", size


async def _login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    token = (
        await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": username, "password": "obhvat-demo-2026"},
        )
    ).raise_for_status().json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def _raise_history(base_url: str) -> None:
    """The history read's child: a Kazanlak pupil, 20 alerts raised by its school through the API."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        headers = await _login(client, "school-koprinka.staff")
        child_id = (
            await client.post("/api/v1/children/lookup", json={"pin": HISTORY_PIN}, headers=headers)
        ).raise_for_status().json()["id"]
        for month in range(HISTORY_ALERTS):
            (
                await client.post(
                    "/api/v1/alerts",
                    headers=headers,
                    json={
                        "child_id": child_id,
                        "type": "unexcused_absences",
                        "details": {"month": f"{2025 + month // 12}-{month % 12 + 1:02d}", "unexcused_hours": 8 + month},
                    },
                )
            ).raise_for_status()


Read = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
READS = ("inbox", "alert list", "history")


async def _reads(base_url: str, inbox_deep: str, list_deep: str) -> dict[str, Read]:
    """The three reads against one server; first and deep pages alternate."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        headers = await _login(client, OFFICER)
        child_id = (
            await client.post("/api/v1/children/lookup", json={"pin": HISTORY_PIN}, headers=headers)
        ).raise_for_status().json()["id"]

    def pages(path: str, deep: str) -> Read:
        async def page(http: httpx.AsyncClient, n: int) -> httpx.Response:
            params: dict[str, str | int] = {"limit": PAGE} | ({"after": deep} if n % 2 else {})
            return await http.get(path, params=params, headers=headers)

        return page

    async def history(http: httpx.AsyncClient, n: int) -> httpx.Response:
        return await http.get(f"/api/v1/children/{child_id}/history", headers=headers)

    return dict(zip(READS, (pages("/api/v1/inbox", inbox_deep), pages("/api/v1/alerts", list_deep), history), strict=True))


async def _measure(servers: dict[str, tuple[str, str, str]], seconds: float) -> dict[tuple[str, str], LoadResult]:
    """Every read at every size for `seconds` each, `CLIENTS` at a time, in short turns taken in
    rounds, so that what else the machine is doing weighs on both sizes alike."""
    reads = {size: await _reads(*where) for size, where in servers.items()}
    results = {(size, name): LoadResult() for size in servers for name in READS}
    rounds = max(4, round(seconds / 3))
    for turn in range(rounds + 1):
        for (size, name), total in results.items():
            base_url = servers[size][0]
            if turn == 0:  # warm up
                await drive(CLIENTS, 1.0, reads[size][name], base_url=base_url, expect=200)
                continue
            result = await drive(CLIENTS, seconds / rounds, reads[size][name], base_url=base_url, expect=200)
            total.requests += result.requests
            total.errors += result.errors
            total.seconds += result.seconds
            total.latencies += result.latencies
    return results


def _ms(result: LoadResult) -> str:
    return f"{result.percentile(0.5) * 1000:.0f}/{result.percentile(0.95) * 1000:.0f} ms"


def run(seconds: float) -> dict[str, object]:
    small, large = 10_000, (200_000 if seconds < 15 else 1_000_000)
    with fresh_database() as small_url, fresh_database() as large_url:
        _generate(small_url, small)
        children, took = _generate(large_url, large)
        small_deep, large_deep = _deep_cursors(small_url), _deep_cursors(large_url)
        with server(small_url) as small_base, server(large_url) as large_base:
            for base in (small_base, large_base):
                asyncio.run(_raise_history(base))
            results = asyncio.run(
                _measure({"small": (small_base, *small_deep[:2]), "large": (large_base, *large_deep[:2])}, seconds)
            )
    ratios = {name: results["large", name].percentile(0.95) / results["small", name].percentile(0.95) for name in READS}
    worst = max(ratios.values())
    errors = sum(r.errors for r in results.values())
    return {
        "name": f"inbox, alert list and case history p95 at {large:,} vs {small:,} alerts ({CLIENTS} clients)",
        "value": "; ".join(f"{name} p50/p95 {_ms(results['large', name])} vs {_ms(results['small', name])}" for name in READS),
        "ratio": worst,
        "target": f"≤ {TARGET}",
        "ok": worst <= TARGET and errors == 0,
        "detail": f"worst of {', '.join(f'{name} {ratio:.2f}' for name, ratio in ratios.items())}; sizes measured in "
        f"turns; first and deep pages of {PAGE} alternately, deep half-way through inboxes of {small_deep[2]:,} and "
        f"{large_deep[2]:,}; history of a child with {HISTORY_ALERTS} alerts; {children:,} children in "
        f"{MUNICIPALITIES} municipalities, the reader's department receiving 1 alert in {MUNICIPALITIES}; "
        f"{large:,} alerts written by SQL in {took:.0f} s; errors {errors}",
    }
