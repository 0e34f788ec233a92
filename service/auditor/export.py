"""Streaming export of audit events as JSON lines or CSV, in keyset batches: memory stays flat
however long the trail is. No free text leaves this way: a break-glass reason appears only as
the SHA-256 that the chain holds (events recorded before the reasons moved out of the chain keep
their text in the table, and it is not exported either)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from service.audit import repository
from service.audit.chain import STORED_FIELDS, canonical_time
from service.audit.repository import EventFilter
from service.auditor.schemas import AccessEntry, AccessReport
from service.core.csv_writer import BOM, CsvWriter, csv_text
from service.core.database import Database

BATCH = 2000
#: everything stored but the legacy break-glass text (see `AuditEvent.break_glass_reason`)
EXPORT_FIELDS = tuple(name for name in STORED_FIELDS if name != "break_glass_reason")


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
    csv_rows = CsvWriter()
    if fmt == "csv":
        csv_rows.row(EXPORT_FIELDS)
        yield (BOM + csv_rows.take()).encode()
    buffer = io.StringIO()
    pending = 0
    async for values in rows(database, where):
        if fmt == "csv":
            csv_rows.row(_plain(v) for v in values)
        else:
            buffer.write(_JSON.encode(dict(zip(EXPORT_FIELDS, values, strict=True))))
            buffer.write("\n")
        pending += 1
        if pending == BATCH:
            yield (csv_rows.take() + buffer.getvalue()).encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield (csv_rows.take() + buffer.getvalue()).encode()


def access_report_csv(report: AccessReport) -> bytes:
    names = [
        n
        for n in AccessEntry.model_fields
        if not (report.version == "guardian" and n in ("actor_id", "decision", "reason"))
    ]
    return csv_text(names, ([_plain(getattr(entry, n)) for n in names] for entry in report.entries)).encode()
