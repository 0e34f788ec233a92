"""Reading absence rows from CSV as Bulgarian e-diaries and spreadsheets export them (UTF-8
with or without BOM, or Windows-1251; comma or semicolon), and checking each row's fields.

Rows are numbered from 1 after the header; every error names its row and field."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from service.children.pin import InvalidPin, validate_pin

#: accepted header names (compared case-insensitively, spaces trimmed) → field
HEADERS = {
    "егн": "pin",
    "pin": "pin",
    "лнч": "pin",
    "егн/лнч": "pin",
    "месец": "month",
    "month": "month",
    "неизвинени часове": "unexcused_hours",
    "неизвинени": "unexcused_hours",
    "unexcused_hours": "unexcused_hours",
    "извинени часове": "excused_hours",
    "извинени": "excused_hours",
    "excused_hours": "excused_hours",
}
REQUIRED = ("pin", "month", "unexcused_hours", "excused_hours")
MAX_HOURS = 300
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class BatchInvalid(Exception):
    """The batch cannot be read at all (encoding, header); `errors` say where."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["detail"])
        self.errors = errors


@dataclass(frozen=True, slots=True)
class AbsenceRow:
    row: int
    pin: str
    month: str
    unexcused_hours: int
    excused_hours: int


def decode(body: bytes) -> str:
    """UTF-8 (a BOM is dropped), else Windows-1251; binary or UTF-16 input is refused."""
    if b"\x00" in body:
        raise BatchInvalid(
            [{"row": 0, "field": None, "detail": "not a text CSV file (NUL bytes; UTF-16 is not accepted)"}]
        )
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("cp1251")
    except UnicodeDecodeError:
        raise BatchInvalid(
            [{"row": 0, "field": None, "detail": "the file is neither UTF-8 nor Windows-1251 text"}]
        ) from None


def csv_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, field → text) for each non-empty data row; a bad header is a BatchInvalid,
    a row that cannot be split is reported as that row's error by the caller."""
    if not text.strip():
        raise BatchInvalid([{"row": 0, "field": None, "detail": "the file is empty"}])
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise BatchInvalid([{"row": 0, "field": None, "detail": "the file is empty"}]) from None
    except csv.Error as exc:
        raise BatchInvalid([{"row": 0, "field": None, "detail": f"the header cannot be read: {exc}"}]) from None
    columns = [HEADERS.get(name.strip().lower()) for name in header]
    repeated = [field for field in REQUIRED if columns.count(field) > 1]
    if repeated:
        raise BatchInvalid(
            [{"row": 0, "field": field, "detail": f"{columns.count(field)} columns give {field}; keep one"}
             for field in repeated]
        )
    missing = [field for field in REQUIRED if field not in columns]
    if missing:
        raise BatchInvalid(
            [
                {
                    "row": 0,
                    "field": field,
                    "detail": f"no column for {field} (expected e.g. "
                    + " / ".join(k for k, v in HEADERS.items() if v == field)[:60]
                    + ")",
                }
                for field in missing
            ]
        )
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield number, {"__error__": f"the row cannot be read: {exc}"}
            continue
        if not any(cell.strip() for cell in cells):
            continue
        number += 1
        if len(cells) != len(header):
            yield number, {"__error__": f"the row has {len(cells)} cells, the header {len(header)}"}
            continue
        yield number, {field: cell.strip() for field, cell in zip(columns, cells, strict=True) if field}


def _hours(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        return None
    return number if 0 <= number <= MAX_HOURS else None


def check_row(number: int, fields: dict[str, Any], today: date) -> tuple[AbsenceRow | None, list[dict[str, Any]]]:
    """The row's values, or its errors (one per bad field)."""
    if "__error__" in fields:
        return None, [{"row": number, "field": None, "detail": fields["__error__"]}]
    errors: list[dict[str, Any]] = []
    pin = fields.get("pin")
    if not isinstance(pin, str) or not pin:
        errors.append({"row": number, "field": "pin", "detail": "missing"})
    else:
        try:
            pin = validate_pin(pin).normalised
        except InvalidPin as exc:
            errors.append({"row": number, "field": "pin", "detail": f"not a valid ЕГН or ЛНЧ: {exc}"})
    month = fields.get("month")
    matched = _MONTH.match(month) if isinstance(month, str) else None
    if matched is None:
        errors.append({"row": number, "field": "month", "detail": "must be YYYY-MM"})
    elif (int(matched[1]), int(matched[2])) > (today.year, today.month):
        errors.append({"row": number, "field": "month", "detail": "is in the future"})
    unexcused, excused = _hours(fields.get("unexcused_hours")), _hours(fields.get("excused_hours"))
    for field, hours in (("unexcused_hours", unexcused), ("excused_hours", excused)):
        if hours is None:
            errors.append({"row": number, "field": field, "detail": f"must be a whole number from 0 to {MAX_HOURS}"})
    if errors or unexcused is None or excused is None:
        return None, errors
    return AbsenceRow(number, str(pin), str(month), unexcused, excused), []


def school_year(month: str) -> str:
    """The school year (September to August) a YYYY-MM falls in, as YYYY/YYYY."""
    year, number = int(month[:4]), int(month[5:7])
    start = year if number >= 9 else year - 1
    return f"{start}/{start + 1}"


def school_year_months(year: str) -> list[str]:
    start = int(year[:4])
    return [f"{start}-{m:02d}" for m in range(9, 13)] + [f"{start + 1}-{m:02d}" for m in range(1, 9)]
