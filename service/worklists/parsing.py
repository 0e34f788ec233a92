"""Reading a list of children to find from CSV (the encodings and delimiters of absences), and
checking each row. Rows are numbered from 1 after the header; every error names row and field.

A row names the child by ЕГН/ЛНЧ or, where the registers know none, by names, birth year and
settlement (EKATTE); always the municipality (EKATTE code, e.g. SZR12); optionally the reason,
the expected grade and the sex."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from service.alerts.details import NotEnrolledReason
from service.children.pin import InvalidPin, validate_pin
from service.core.csv_reader import BatchInvalid, decode, read_table

__all__ = ["HEADERS", "BatchInvalid", "WorklistRow", "check_row", "decode", "worklist_rows"]

#: accepted header names (compared case-insensitively, spaces trimmed) → field
HEADERS = {
    "егн": "pin", "лнч": "pin", "егн/лнч": "pin", "pin": "pin",
    "име": "given_name", "собствено име": "given_name", "given_name": "given_name",
    "фамилия": "family_name", "фамилно име": "family_name", "family_name": "family_name",
    "година на раждане": "birth_year", "birth_year": "birth_year",
    "пол": "sex", "sex": "sex",
    "община": "municipality", "municipality": "municipality", "municipality_code": "municipality",
    "населено място": "settlement", "екатте": "settlement", "settlement": "settlement",
    "settlement_code": "settlement",
    "клас": "expected_grade", "expected_grade": "expected_grade",
    "причина": "reason", "reason": "reason",
}
FIELDS = tuple(dict.fromkeys(HEADERS.values()))
_MUNICIPALITY = re.compile(r"^[A-Z]{3}[0-9]{2}$")
_SETTLEMENT = re.compile(r"^[0-9]{5}$")
_SEX = {"м": "male", "мъж": "male", "male": "male", "m": "male", "ж": "female", "жена": "female",
        "female": "female", "f": "female"}
#: the Bulgarian words a register export may use for the reason, besides the codes themselves
_REASONS = {
    "не е записан": NotEnrolledReason.not_in_school_register,
    "напуснал": NotEnrolledReason.left_without_transfer,
    "завърнал се от чужбина": NotEnrolledReason.returned_from_abroad,
    "преместен": NotEnrolledReason.moved_within_country,
    "друга": NotEnrolledReason.other,
} | {reason.value: reason for reason in NotEnrolledReason}
MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class WorklistRow:
    row: int
    municipality: str
    #: normalised ЕГН/ЛНЧ, or None for a child the registers know only by name
    pin: str | None
    given_name: str | None
    family_name: str | None
    birth_year: int | None
    settlement: str | None
    sex: str | None
    expected_grade: int | None
    reason: NotEnrolledReason


def worklist_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, field → text) for each non-empty data row; a header without a municipality
    column, or with neither a PIN nor the name columns, is a BatchInvalid."""
    return read_table(
        text, HEADERS, ["municipality"], one_of=[["pin"], ["given_name", "family_name", "birth_year", "settlement"]]
    )


def _name(fields: dict[str, Any], field: str, errors: list[dict[str, Any]], number: int) -> str | None:
    value = str(fields.get(field) or "").strip()
    if len(value) > MAX_NAME:
        errors.append({"row": number, "field": field, "detail": f"at most {MAX_NAME} characters"})
        return None
    return " ".join(value.split()) or None


def check_row(number: int, fields: dict[str, Any], today: date) -> tuple[WorklistRow | None, list[dict[str, Any]]]:
    """The row's values, or its errors (one per bad field)."""
    if "__error__" in fields:
        return None, [{"row": number, "field": None, "detail": fields["__error__"]}]
    errors: list[dict[str, Any]] = []
    municipality = str(fields.get("municipality") or "").strip().upper()
    if not _MUNICIPALITY.match(municipality):
        errors.append({"row": number, "field": "municipality", "detail": "an EKATTE municipality code such as SZR12"})
    pin: str | None = None
    raw_pin = str(fields.get("pin") or "").strip()
    sex = _SEX.get(str(fields.get("sex") or "").strip().lower())
    if fields.get("sex") and sex is None:
        errors.append({"row": number, "field": "sex", "detail": "м or ж (male or female)"})
    if raw_pin:
        try:
            facts = validate_pin(raw_pin)
            pin = facts.normalised
            if facts.kind == "egn" and sex is None:
                sex = "female" if int(pin[8]) % 2 else "male"
        except InvalidPin as exc:
            errors.append({"row": number, "field": "pin", "detail": f"not a valid ЕГН or ЛНЧ: {exc}"})
    given, family = _name(fields, "given_name", errors, number), _name(fields, "family_name", errors, number)
    settlement = str(fields.get("settlement") or "").strip() or None
    if settlement is not None and not _SETTLEMENT.match(settlement):
        errors.append({"row": number, "field": "settlement", "detail": "an EKATTE settlement code: five digits"})
        settlement = None
    birth_year: int | None = None
    raw_year = str(fields.get("birth_year") or "").strip()
    if raw_year:
        if raw_year.isascii() and raw_year.isdigit() and today.year - 20 <= int(raw_year) <= today.year:
            birth_year = int(raw_year)
        else:
            errors.append({"row": number, "field": "birth_year", "detail": f"a year from {today.year - 20} to "
                           f"{today.year}"})
    if not raw_pin:
        for field, value in (("given_name", given), ("family_name", family), ("birth_year", raw_year),
                             ("settlement", settlement)):
            if not value and not any(e["field"] == field for e in errors):
                errors.append({"row": number, "field": field, "detail": "required when the row gives no ЕГН"})
    grade: int | None = None
    raw_grade = str(fields.get("expected_grade") or "").strip()
    if raw_grade:
        if raw_grade.isascii() and raw_grade.isdigit() and int(raw_grade) <= 12:
            grade = int(raw_grade)
        else:
            errors.append({"row": number, "field": "expected_grade", "detail": "a grade from 0 to 12"})
    raw_reason = str(fields.get("reason") or "").strip().lower()
    reason = _REASONS.get(raw_reason) if raw_reason else NotEnrolledReason.not_in_school_register
    if reason is None:
        errors.append({"row": number, "field": "reason", "detail": "one of " + ", ".join(NotEnrolledReason)})
    if errors or reason is None:
        return None, errors
    return WorklistRow(number, municipality, pin, given, family, birth_year, settlement, sex, grade, reason), []
