"""The one way the service writes CSV: every field quoted, every formula made plain text.

A spreadsheet evaluates a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
(OWASP "CSV injection"). Quoting alone does not stop it, and neutralising only the first
character of a line does not either: a Bulgarian spreadsheet splits on `;`, so `a;=HYPERLINK(...)`
opens as two cells and the second one is a formula. So every field is quoted (a separator inside
it stays inside it, whatever separator the spreadsheet uses) and every cell that starts with one
of those characters gets a leading `'`. Files are UTF-8 with a byte order mark, as spreadsheets
open Cyrillic text correctly only with one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

BOM = "\ufeff"
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """A cell a spreadsheet would evaluate is made plain text."""
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
