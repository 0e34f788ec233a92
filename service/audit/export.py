"""Streaming export of audit events as JSON lines or CSV, in keyset batches: memory stays flat
however long the trail is."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from service.audit import repository
from service.audit.chain import canonical_time
from service.audit.repository import EventFilter
from service.audit.schemas import AccessEntry, AccessReport
from service.core.database import Database

BATCH = 2000
EXPORT_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_kind",
    "actor_organisation_id",
    "actor_roles",
    "action",
    "resource_type",
    "resource_id",
    "child_id",
    "purpose",
    "basis",
    "consent_id",
    "decision",
    "reason",
    "break_glass",
    "break_glass_reason",
    "request_id",
    "client_address",
    "prev_hash",
    "hash",
)
_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """A cell a spreadsheet would evaluate (OWASP CSV injection) is made plain text."""
    return "'" + text if text.startswith(_FORMULA_LEADS) else text


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if hasattr(value, "isoformat"):
        return canonical_time(value)
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


def _json_default(value: Any) -> Any:
    """Times and UUIDs for the JSON encoder; everything else in an event is JSON already."""
    if isinstance(value, datetime):
        return canonical_time(value)
    return str(value)


# One encoder for every line (json.dumps with options builds a new one per call); with
# `default` it writes the same lines as json.dumps(_plain(...), ensure_ascii=False) did.
_JSON = json.JSONEncoder(ensure_ascii=False, default=_json_default)


def _csv_cell(value: Any) -> str:
    plain = _plain(value)
    if plain is None:
        return ""
    if isinstance(plain, list):
        plain = " ".join(plain)
    return neutralise_formula(str(plain))


async def rows(database: Database, where: EventFilter) -> AsyncIterator[tuple[Any, ...]]:
    after = 0
    while True:
        async with database.transaction() as session:
            values = await repository.search_values(session, where, EXPORT_FIELDS, after_seq=after, limit=BATCH)
        if not values:
            return
        for value in values:
            yield value
        after = values[-1][0]


async def export_lines(database: Database, where: EventFilter, fmt: str) -> AsyncIterator[bytes]:
    if fmt == "csv":
        yield ("\ufeff" + ",".join(EXPORT_FIELDS) + "\r\n").encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    pending = 0
    async for values in rows(database, where):
        if fmt == "csv":
            writer.writerow([_csv_cell(v) for v in values])
        else:
            buffer.write(_JSON.encode(dict(zip(EXPORT_FIELDS, values, strict=True))))
            buffer.write("\n")
        pending += 1
        if pending == BATCH:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue().encode()


def access_report_csv(report: AccessReport) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    names = [
        n
        for n in AccessEntry.model_fields
        if not (report.version == "guardian" and n in ("actor_id", "decision", "reason"))
    ]
    writer.writerow(names)
    for entry in report.entries:
        writer.writerow([_csv_cell(getattr(entry, n)) for n in names])
    return ("\ufeff" + buffer.getvalue()).encode()
