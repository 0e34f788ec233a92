"""Reading absence rows from CSV as Bulgarian e-diaries and spreadsheets export them (UTF-8
with or without BOM, or Windows-1251; comma or semicolon), and checking each row's fields.

Rows are numbered from 1 after the header; every error names its row and field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from service.children.pin import InvalidPin, validate_pin
from service.core.csv_reader import BatchInvalid, decode, read_table

__all__ = ["HEADERS", "REQUIRED", "AbsenceRow", "BatchInvalid", "check_row", "csv_rows", "decode", "school_year",
           "school_year_months"]

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
    "неизвинени дни": "unexcused_days",
    "unexcused_days": "unexcused_days",
    "извинени дни": "excused_days",
    "excused_days": "excused_days",
}
REQUIRED = ("pin", "month")
#: a school sends hours; a kindergarten (pupils of grade 0) sends days
FIGURES = (("unexcused_hours", "excused_hours"), ("unexcused_days", "excused_days"))
MAX_HOURS = 300
MAX_DAYS = 31
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class AbsenceRow:
    row: int
    pin: str
    month: str
    unexcused_hours: int
    excused_hours: int
    #: what the figures count: `hours` (schools) or `days` (kindergartens)
    unit: str = "hours"


def csv_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, field → text) for each non-empty data row of an absence CSV."""
    return read_table(text, HEADERS, REQUIRED, one_of=FIGURES)


def _hours(value: Any, most: int = MAX_HOURS) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        return None
    return number if 0 <= number <= most else None


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

    def given(field: str) -> bool:
        return fields.get(field) not in (None, "")

    if given("unexcused_days") or given("excused_days"):
        if given("unexcused_hours") or given("excused_hours"):
            errors.append({"row": number, "field": "unexcused_days",
                           "detail": "give hours (a school) or days (a kindergarten), not both"})
        unit, most, names = "days", MAX_DAYS, ("unexcused_days", "excused_days")
    else:
        unit, most, names = "hours", MAX_HOURS, ("unexcused_hours", "excused_hours")
    unexcused, excused = _hours(fields.get(names[0]), most), _hours(fields.get(names[1]), most)
    for field, amount in zip(names, (unexcused, excused), strict=True):
        if amount is None:
            errors.append({"row": number, "field": field, "detail": f"must be a whole number from 0 to {most}"})
    if errors or unexcused is None or excused is None:
        return None, errors
    return AbsenceRow(number, str(pin), str(month), unexcused, excused, unit), []


def school_year(month: str) -> str:
    """The school year (September to August) a YYYY-MM falls in, as YYYY/YYYY."""
    year, number = int(month[:4]), int(month[5:7])
    start = year if number >= 9 else year - 1
    return f"{start}/{start + 1}"


def school_year_months(year: str) -> list[str]:
    start = int(year[:4])
    return [f"{start}-{m:02d}" for m in range(9, 13)] + [f"{start + 1}-{m:02d}" for m in range(1, 9)]
