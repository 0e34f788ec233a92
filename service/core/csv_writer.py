"""The one way the service writes CSV: every field quoted, every formula made plain text.

A spreadsheet evaluates a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
(OWASP "CSV injection"), so such a cell gets a leading `'`. That alone is not enough: a Bulgarian
spreadsheet splits on `;`, so `a;=SUM(1+2)` opens as two cells and the second is a formula.
Every field is therefore quoted (a spreadsheet that honours the quotes keeps the `;` inside the
cell), and, for one that does not (a quoted field ends at its closing quote, and what follows is
split on `;`), a formula character right after a `;` or a line break inside a cell gets a `'`
too: `a;'=SUM(1+2)`. Files are UTF-8 with a byte order mark, which spreadsheets need to show
Cyrillic text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

BOM = "\ufeff"
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
#: a place inside a cell where a `;`-splitting spreadsheet starts a new cell that would be a formula
_INNER_FORMULA = re.compile(r'(?<=[;\n\r])(?="*[=+\-@\t\r])')


def neutralise_formula(text: str) -> str:
    """A cell a spreadsheet would evaluate, or that holds such a cell after a `;` or a line
    break, is made plain text."""
    text = _INNER_FORMULA.sub("'", text)
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def cell(value: Any) -> str:
    """The text of one cell: empty for None, words joined by a space for a list."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value)
    return neutralise_formula(str(value))


class CsvWriter:
    """Rows into a buffer that the caller takes in pieces (for streaming) or whole."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")

    def row(self, values: Iterable[Any]) -> None:
        self._writer.writerow([cell(v) for v in values])

    def take(self) -> str:
        """What was written since the last `take`."""
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV document, byte order mark first."""
    writer = CsvWriter()
    writer.row(header)
    for values in rows:
        writer.row(values)
    return BOM + writer.take()
