"""Inbox and case-history latency over HTTP at 10,000 and at 1,000,000 alerts (200,000 with
`--quick`): the p95 at the large size against the p95 at the small one, same shape of data.

The alerts are written by SQL, not through the API: 10 alerts per child (so the number of
children grows with the alerts), raised by one of 200 schools, each routed to two of 400 other
organisations plus, for one alert in 50, to Kazanlak's child protection department, whose officer
reads the inbox. The history read is of a Kazanlak demo pupil with 10 alerts of its own at both
sizes. Reads are audited as in production, so every page read also appends to the audit trail.
"""

from __future__ import annotations

import asyncio
import random

import httpx
import psycopg

from bench.harness import LoadResult, drive, fresh_database, server

TARGET = 1.5
CLIENTS = 8
ALERTS_PER_CHILD = 10
SHARE_FOR_THE_READER = 50  # one alert in 50 reaches cp-kazanlak
OFFICER = "cp-kazanlak.cp"
HISTORY_PIN = "1152035081"  # a Kazanlak pupil of school-koprinka
PAGE = 50

_GENERATE = """
INSERT INTO organisation (id, code, kind, name, created_at)
SELECT gen_random_uuid(), 'bench-' || kind || '-' || g, kind, 'Bench ' || kind || ' ' || g, now()
FROM generate_series(1, 200) g, (VALUES ('school'), ('child_protection')) k(kind)
WHERE NOT EXISTS (SELECT 1 FROM organisation WHERE code LIKE 'bench-%%');

CREATE TEMP TABLE bench_orgs AS
SELECT row_number() OVER (PARTITION BY kind ORDER BY code) - 1 AS n, id, kind FROM organisation WHERE code LIKE 'bench-%%';

INSERT INTO child (id, pin_hash, sex, municipality_code, created_at)
SELECT gen_random_uuid(), md5('bench-child-' || g) || md5('salt-' || g), 'female', 'SZR12', now()
FROM generate_series(%(first_child)s, %(last_child)s) g;

CREATE TEMP TABLE bench_new_alerts AS
SELECT gen_random_uuid() AS id, c.id AS child_id, a AS k, row_number() OVER () AS n,
       now() - (random() * interval '400 days') AS at
FROM child c CROSS JOIN generate_series(1, %(per_child)s) a
WHERE c.sex = 'female' AND c.given_name IS NULL
  AND NOT EXISTS (SELECT 1 FROM alert WHERE alert.child_id = c.id);

INSERT INTO alert (id, child_id, municipality_code, source_organisation_id, author_id, type, severity,
                   details, legal_basis, status, version, created_at, updated_at)
SELECT a.id, a.child_id, 'SZR12', s.id, 'bench-teacher', 'unexcused_absences', 'concern',
       json_build_object('month', '2026-' || lpad((1 + a.k %% 9)::text, 2, '0'), 'unexcused_hours', 6 + a.k),
       'legal_obligation', 'open', 1, a.at, a.at
FROM bench_new_alerts a JOIN bench_orgs s ON s.kind = 'school' AND s.n = a.n %% 200;

INSERT INTO alert_recipient (id, alert_id, organisation_id, is_lead, state, delivered_at, change_seq)
SELECT gen_random_uuid(), a.id, r.id, r.lead, 'delivered', a.at, 0
FROM bench_new_alerts a
CROSS JOIN LATERAL (
    SELECT o.id, true AS lead FROM bench_orgs o WHERE o.kind = 'child_protection' AND o.n = a.n %% 200
    UNION ALL
    SELECT o.id, false FROM bench_orgs o WHERE o.kind = 'child_protection' AND o.n = (a.n * 7 + 3) %% 200
    UNION ALL
    SELECT %(reader)s::uuid, false WHERE a.n %% %(share)s = 0
) r;
"""

_NUMBER_THE_FEED = """
WITH numbered AS (
    SELECT ar.id, (SELECT seq FROM feed_counter WHERE id = 1) + row_number() OVER (ORDER BY a.at, ar.id) AS seq
    FROM alert_recipient ar JOIN bench_new_alerts a ON a.id = ar.alert_id
)
UPDATE alert_recipient SET change_seq = numbered.seq FROM numbered WHERE alert_recipient.id = numbered.id;
UPDATE feed_counter SET seq = (SELECT max(change_seq) FROM alert_recipient) WHERE id = 1;
DROP TABLE bench_new_alerts;
DROP TABLE bench_orgs;
ANALYZE;
"""


def _grow_to(url: str, alerts: int) -> None:
    """Add synthetic alerts until the database holds about `alerts` of them."""
    with psycopg.connect(url) as conn:
        existing = conn.execute("SELECT count(*) FROM alert").fetchone()[0]  # type: ignore[index]
        children = max(0, (alerts - existing) // ALERTS_PER_CHILD)
        if children == 0:
            return
        done = conn.execute("SELECT count(*) FROM child WHERE given_name IS NULL AND sex = 'female'").fetchone()[0]  # type: ignore[index]
        reader = conn.execute("SELECT id FROM organisation WHERE code = 'cp-kazanlak'").fetchone()[0]  # type: ignore[index]
        psycopg.ClientCursor(conn).execute(  # several statements in one go
            _GENERATE,  # type: ignore[arg-type]
            {
                "first_child": done + 1,
                "last_child": done + children,
                "per_child": ALERTS_PER_CHILD,
                "reader": reader,
                "share": SHARE_FOR_THE_READER,
            },
        )
        conn.execute(_NUMBER_THE_FEED)  # type: ignore[arg-type]


async def _raise_history(base_url: str) -> None:
    """Ten alerts about the pupil whose history is read, raised by its school through the API."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        token = (
            await client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": "school-koprinka.staff", "password": "obhvat-demo-2026"},
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        child_id = (
            await client.post("/api/v1/children/lookup", json={"pin": HISTORY_PIN}, headers=headers)
        ).json()["id"]
        for month in range(1, ALERTS_PER_CHILD + 1):
            raised = await client.post(
                "/api/v1/alerts",
                headers=headers,
                json={"child_id": child_id, "type": "unexcused_absences",
                      "details": {"month": f"2026-{month:02d}", "unexcused_hours": 8 + month}},
            )
            raised.raise_for_status()


async def _measure(base_url: str, seconds: float) -> tuple[LoadResult, LoadResult, int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        token = (
            await client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": OFFICER, "password": "obhvat-demo-2026"},
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        child_id = (
            await client.post("/api/v1/children/lookup", json={"pin": HISTORY_PIN}, headers=headers)
        ).json()["id"]
        # cursors spread through the whole inbox, from the first page to the last
        cursors: list[str | None] = [None]
        inbox_size = 0
        page = (await client.get("/api/v1/inbox", params={"limit": 200}, headers=headers)).raise_for_status().json()
        while True:
            inbox_size += len(page["items"])
            if not page["items"] or page["next"] is None:
                break
            cursors.append(page["next"])
            page = (
                await client.get("/api/v1/inbox", params={"limit": 200, "after": page["next"]}, headers=headers)
            ).raise_for_status().json()
    rng = random.Random(7)

    async def inbox_page(http: httpx.AsyncClient, n: int) -> httpx.Response:
        cursor = rng.choice(cursors)
        params: dict[str, str | int] = {"limit": PAGE} | ({"after": cursor} if cursor else {})
        return await http.get("/api/v1/inbox", params=params, headers=headers)

    async def history(http: httpx.AsyncClient, n: int) -> httpx.Response:
        return await http.get(f"/api/v1/children/{child_id}/history", headers=headers)

    await drive(CLIENTS, 2.0, inbox_page, base_url=base_url, expect=200)  # warm up
    inbox = await drive(CLIENTS, seconds / 2, inbox_page, base_url=base_url, expect=200)
    case_history = await drive(CLIENTS, seconds / 2, history, base_url=base_url, expect=200)
    return inbox, case_history, inbox_size


def _ms(result: LoadResult, p: float) -> str:
    return f"{result.percentile(p) * 1000:.0f}"


def run(seconds: float) -> dict[str, object]:
    small, large = 10_000, (200_000 if seconds < 15 else 1_000_000)
    with fresh_database() as url:
        _grow_to(url, small)
        with server(url) as base:
            asyncio.run(_raise_history(base))
            small_inbox, small_history, small_size = asyncio.run(_measure(base, seconds))
        _grow_to(url, large)
        with server(url) as base:
            large_inbox, large_history, large_size = asyncio.run(_measure(base, seconds))
    ratios = [
        large_inbox.percentile(0.95) / small_inbox.percentile(0.95),
        large_history.percentile(0.95) / small_history.percentile(0.95),
    ]
    errors = small_inbox.errors + small_history.errors + large_inbox.errors + large_history.errors
    return {
        "name": f"inbox and case history p95 at {large:,} vs {small:,} alerts ({CLIENTS} clients)",
        "value": f"inbox p50/p95 {_ms(large_inbox, 0.5)}/{_ms(large_inbox, 0.95)} ms vs "
        f"{_ms(small_inbox, 0.5)}/{_ms(small_inbox, 0.95)} ms; history {_ms(large_history, 0.5)}/"
        f"{_ms(large_history, 0.95)} ms vs {_ms(small_history, 0.5)}/{_ms(small_history, 0.95)} ms",
        "ratio": max(ratios),
        "target": f"≤ {TARGET}",
        "ok": max(ratios) <= TARGET and errors == 0,
        "detail": f"worse of inbox ({ratios[0]:.2f}) and history ({ratios[1]:.2f}); pages of {PAGE} at random "
        f"cursors through inboxes of {small_size:,} and {large_size:,} entries; errors {errors}",
    }
