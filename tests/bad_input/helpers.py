"""Shared checks of the bad-input corpus: the answer is a clear 4xx problem, and nothing was
written (no row in any table, no feed position taken, so no alert raised or changed)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

import service.models  # noqa: F401 - every table in the metadata
from service.alerts.models import FeedCounter
from service.core.database import Database, metadata
from tests.core.helpers import assert_problem

#: words that would mean a stack trace or SQL reached the client
LEAKS = ("Traceback", 'File "', ".py", "INSERT", "SELECT", "psycopg", "sqlite", "[SQL")


async def snapshot(database: Database) -> dict[str, int]:
    """Rows per table, and the feed counter (it moves whenever an alert is raised or changed)."""
    counts: dict[str, int] = {}
    async with database.transaction() as session:
        for name, table in sorted(metadata.tables.items()):
            counts[name] = (await session.execute(select(func.count()).select_from(table))).scalar_one()
        counts["feed_counter.seq"] = (await session.execute(select(func.max(FeedCounter.seq)))).scalar_one() or 0
    return counts


async def assert_nothing_written(database: Database, before: dict[str, int]) -> None:
    after = await snapshot(database)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert not changed, f"a refused request wrote something: {changed}"


def assert_clear_problem(response: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    """A 4xx RFC 9457 problem that says what is wrong, small, with no stack trace or SQL, and
    with every `errors` entry saying where (a body pointer, a parameter or header, or a CSV row)."""
    expected = status if isinstance(status, tuple) else (status,)
    assert response.status_code in expected, (response.status_code, response.text[:1000])
    body = assert_problem(response, response.status_code)
    assert 400 <= body["status"] < 500
    assert isinstance(body.get("detail"), str) and body["detail"].strip(), body
    assert len(response.content) < 64 * 1024, "the problem echoes the bad input back"
    for needle in LEAKS:
        assert needle not in response.text, (needle, response.text[:1000])
    for entry in body.get("errors", []):
        assert isinstance(entry.get("detail"), str) and entry["detail"], entry
        assert {"pointer", "parameter", "header", "row"} & set(entry), entry
    return body


def error_pointers(body: dict[str, Any]) -> list[str]:
    return [e["pointer"] for e in body.get("errors", []) if "pointer" in e]


def error_rows(body: dict[str, Any]) -> list[tuple[int, str | None]]:
    return [(e["row"], e.get("field")) for e in body.get("errors", []) if "row" in e]
