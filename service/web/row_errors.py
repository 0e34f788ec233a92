"""A batch's row errors as a teacher reads them: the row, the column by its name, and the
message in the console's language. The domain writes its row errors in English for
integrators (the API's problem); each known wording is matched here and told again from the
catalogues, its numbers and names carried over. A wording not known here is shown as it is."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.core.problems import Problem
from service.web.labels import N_

#: the columns of the absence and roster files, by the field names the domain's errors use
COLUMN_NAMES: dict[str, str] = {
    "pin": N_("ЕГН or ЛНЧ"),
    "month": N_("Month"),
    "unexcused_hours": N_("Unexcused hours"),
    "excused_hours": N_("Excused hours"),
    "given_name": N_("Given name"),
    "family_name": N_("Family name"),
    "sex": N_("Sex"),
    "grade": N_("Grade"),
    "date_of_birth": N_("Date of birth"),
    "settlement_code": N_("EKATTE"),
    "address": N_("Address"),
    # a list of children to find
    "municipality": N_("Municipality"),
    "settlement": N_("Settlement"),
    "birth_year": N_("Year of birth"),
    "expected_grade": N_("Grade"),
    "reason": N_("Reason"),
}

#: (the domain's wording, the message id of the console's wording; `{0}`, `{1}` are the groups)
Wordings = tuple[tuple[re.Pattern[str], str], ...]


def wordings(*pairs: tuple[str, str]) -> Wordings:
    return tuple((re.compile(pattern), message) for pattern, message in pairs)


def reword(detail: str, table: Wordings, gettext: Callable[[str], str], names: dict[str, str] | None = None) -> str:
    """The domain's English wording told again in the person's language (`names` translate the
    field names it quotes); a wording not in the table is shown as it is."""
    for pattern, message in table:
        matched = pattern.match(detail)
        if matched:
            groups = [gettext(names[g]) if names and g in names else g for g in matched.groups()]
            return gettext(message).format(*groups)
    return detail


_WORDINGS = wordings(
    (r"^missing$", N_("The cell is empty")),
    (r"^must be YYYY-MM$", N_("Write the month as YYYY-MM, for example 2026-10")),
    (r"^is in the future$", N_("The month is still to come")),
    (r"^must be a whole number from 0 to (\d+)$", N_("Write a whole number from 0 to {0}")),
    (
        r"^not a valid ЕГН or ЛНЧ: check digit does not match$",
        N_("This is not a valid ЕГН or ЛНЧ: the last digit does not match"),
    ),
    (
        r"^not a valid ЕГН or ЛНЧ: a personal number is 10 digits$",
        N_("This is not a valid ЕГН or ЛНЧ: it must have 10 digits"),
    ),
    (r"^not a valid ЕГН or ЛНЧ: .*$", N_("This is not a valid ЕГН or ЛНЧ")),
    (
        r"^row (\d+) already gives this pupil's figure for (\S+)$",
        N_("Row {0} already gives this pupil's figure for {1}"),
    ),
    (
        r"^no pupil with this PIN is enrolled at your school$",
        N_("No pupil with this ЕГН or ЛНЧ is enrolled at your school"),
    ),
    (r"^the row cannot be read: .*$", N_("The row cannot be read (check the quotation marks)")),
    (r"^the row has (\d+) cells, the header (\d+)$", N_("The row has {0} cells, the header row has {1}")),
    (r"^the file is empty$", N_("The file is empty")),
    (r"^no data rows$", N_("The file has a header row but no pupils")),
    (
        r"^not a text CSV file.*$",
        N_("This is not a CSV text file. Save it from the spreadsheet as “CSV (comma or semicolon delimited)”"),
    ),
    (r"^the file is neither UTF-8 nor Windows-1251 text$", N_("The file is neither UTF-8 nor Windows-1251 text")),
    (r"^the header cannot be read: .*$", N_("The header row cannot be read")),
    (r"^(\d+) columns give (\w+); keep one$", N_("{0} columns give “{1}”; keep one")),
    (r"^no column for (\w+) \(expected e\.g\. (.*)\)$", N_("There is no column “{0}” (its heading may be: {1})")),
    # a roster's rows
    (r"^must be text$", N_("Write this as text")),
    (r"^at most (\d+) characters$", N_("Write at most {0} characters")),
    (r"^a name must not contain control or invisible characters$", N_("The name contains invisible characters")),
    (
        r"^one word of the name mixes .*$",
        N_("A word of the name mixes Cyrillic and Latin letters; type each word in one alphabet"),
    ),
    (r"^male or female \(м or ж\)$", N_("Write м or ж")),
    (r"^a whole number from 0 \(preschool group\) to 12$", N_("Write a whole number from 0 (preschool group) to 12")),
    (r"^a date as YYYY-MM-DD or DD\.MM\.YYYY$", N_("Write the date as DD.MM.YYYY, for example 05.03.2015")),
    (r"^does not agree with the ЕГН$", N_("The date of birth does not agree with the ЕГН")),
    (r"^required for a ЛНЧ, which encodes no birth date$", N_("Write the date of birth: a ЛНЧ does not contain it")),
    (r"^an EKATTE code is five digits$", N_("The EKATTE code has five digits")),
    (r"^not a settlement of the EKATTE classifier loaded here$", N_("There is no settlement with this EKATTE code")),
    (r"^row (\d+) already names this pupil$", N_("Row {0} already names this pupil")),
    (r"^a roster has at most (\d+) pupils$", N_("A roster has at most {0} pupils")),
    (
        r"^the pupil is enrolled at another school that has not released the pupil to yours; .*$",
        N_("The pupil is still enrolled at another school, which must first release the pupil to yours"),
    ),
    # a list of children to find
    (r"^an EKATTE municipality code such as SZR12$", N_("Write the municipality's code, for example SZR12")),
    (r"^not a municipality your organisation serves$", N_("Your organisation does not serve this municipality")),
    (r"^row (\d+) already lists this child$", N_("Row {0} already lists this child")),
    (r"^м or ж \(male or female\)$", N_("Write м or ж")),
    (r"^an EKATTE settlement code: five digits$", N_("The EKATTE code has five digits")),
    (r"^a year from (\d+) to (\d+)$", N_("Write a year from {0} to {1}")),
    (r"^required when the row gives no ЕГН$", N_("Fill this in: the row gives no ЕГН")),
    (r"^a grade from 0 to 12$", N_("Write a whole number from 0 (preschool group) to 12")),
)

#: wordings that depend on the column (checked before the others)
_COLUMN_WORDINGS: dict[str, Wordings] = {
    "date_of_birth": wordings((r"^is in the future$", N_("The date of birth is still to come"))),
    "reason": wordings(
        (r"^one of .*$", N_("Write one of: не е записан, напуснал, завърнал се от чужбина, преместен, друга"))
    ),
}


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # 0: the whole file (its encoding or header)
    column: str  # the column's name in the person's language, "" when the error is the row's
    message: str


def row_errors(problem: Problem, gettext: Callable[[str], str]) -> list[RowError]:
    """The problem's row errors, told in the language `gettext` translates to."""
    return [_row_error(entry, gettext) for entry in problem.errors or []]


def _row_error(entry: dict[str, Any], gettext: Callable[[str], str]) -> RowError:
    field = entry.get("field")
    row = entry.get("row")
    column = str(field or "")
    named = COLUMN_NAMES.get(column)
    return RowError(
        row=row if isinstance(row, int) else 0,
        column=gettext(named) if named else column,
        message=reword(
            str(entry.get("detail") or ""), _COLUMN_WORDINGS.get(column, ()) + _WORDINGS, gettext, COLUMN_NAMES
        ),
    )
