"""The EKATTE classifier of settlements: reading it from a file and loading it.

The package ships the settlements of the demo's municipalities (`data/settlements-demo.csv`);
an operator loads the national list published by the National Statistical Institute with
`obhvat settlements load FILE` (CSV: UTF-8 or Windows-1251, comma or semicolon; columns
`ekatte`, `name`, `obstina` as NSI names them, or `code`/`ЕКАТТЕ`, `name`/`наименование`,
`municipality`/`община`). Loading is an upsert by code: run it again after NSI publishes changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.children import repository
from service.core.csv_reader import BatchInvalid, decode, read_table

DEMO_SETTLEMENTS = Path(__file__).parent / "data" / "settlements-demo.csv"
HEADERS = {
    "ekatte": "code",
    "екатте": "code",
    "code": "code",
    "код": "code",
    "name": "name",
    "име": "name",
    "наименование": "name",
    "населено място": "name",
    "obstina": "municipality_code",
    "municipality": "municipality_code",
    "municipality_code": "municipality_code",
    "община": "municipality_code",
}
_CODE = re.compile(r"^[0-9]{5}$")
_MUNICIPALITY = re.compile(r"^[A-Z]{3}[0-9]{2}$")
CHUNK = 1000


def parse(body: bytes) -> list[dict[str, str]]:
    """The classifier's rows, checked; a `BatchInvalid` naming every bad row and field."""
    rows: list[dict[str, str]] = []
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, fields in read_table(decode(body), HEADERS, ("code", "name", "municipality_code")):
        if "__error__" in fields:
            errors.append({"row": number, "field": None, "detail": fields["__error__"]})
            continue
        code = fields["code"].zfill(5) if fields["code"].isdigit() else fields["code"]
        if not _CODE.match(code):
            errors.append({"row": number, "field": "code", "detail": "an EKATTE code is five digits"})
        elif code in seen:
            errors.append({"row": number, "field": "code", "detail": f"row {seen[code]} already gives {code}"})
        if not fields["name"] or len(fields["name"]) > 100:
            errors.append({"row": number, "field": "name", "detail": "1 to 100 characters"})
        if not _MUNICIPALITY.match(fields["municipality_code"]):
            errors.append({"row": number, "field": "municipality_code",
                           "detail": "a municipality code is three capital letters and two digits, e.g. SZR12"})
        seen.setdefault(code, number)
        rows.append({"code": code, "name": fields["name"], "municipality_code": fields["municipality_code"]})
    if errors:
        raise BatchInvalid(errors)
    if not rows:
        raise BatchInvalid([{"row": 0, "field": None, "detail": "the file has no settlements"}])
    return rows


async def load(
    session: AsyncSession, rows: list[dict[str, str]], progress: Callable[[int], None] | None = None
) -> int:
    """Insert or update every settlement; the number loaded."""
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        await repository.upsert_settlements(session, chunk)
        if progress is not None:
            progress(len(chunk))
    return len(rows)


async def names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    """The classifier's names of the settlements `codes` name (public reference data: the codes
    it does not know are left out, for the caller to show as codes)."""
    return await repository.settlement_names(session, sorted(set(codes)))
