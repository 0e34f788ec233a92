"""Reading the CSV files schools and registers send, as Bulgarian e-diaries and spreadsheets
export them: UTF-8 with or without BOM, or Windows-1251; comma or semicolon; a header row in
Bulgarian or English. Used for absence figures, rosters and the settlement classifier.

Rows are numbered from 1 after the header; a file that cannot be read at all is a
`BatchInvalid` whose errors name row 0 and the missing or repeated field."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

#: media types a CSV upload may be sent as
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


class BatchInvalid(Exception):
    """The batch cannot be read at all (encoding, header); `errors` say where."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["detail"])
        self.errors = errors


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


def _missing(field: str, headers: Mapping[str, str]) -> dict[str, Any]:
    examples = " / ".join(k for k, v in headers.items() if v == field)[:60]
    return {"row": 0, "field": field, "detail": f"no column for {field} (expected e.g. {examples})"}


def read_table(
    text: str,
    headers: Mapping[str, str],
    required: Sequence[str],
    *,
    one_of: Sequence[Sequence[str]] = (),
) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, field → text) for each non-empty data row. `headers` maps accepted column
    names (compared case-insensitively, spaces trimmed) to fields; every field of `required`
    needs a column, and so does every field of at least one group of `one_of`. A bad header is a
    `BatchInvalid`; a row that cannot be split is yielded as `{"__error__": why}` for the caller
    to report as that row's error."""
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
    columns = [headers.get(name.strip().lower()) for name in header]
    known = set(headers.values())
    repeated = sorted(field for field in known if columns.count(field) > 1)
    if repeated:
        raise BatchInvalid(
            [{"row": 0, "field": field, "detail": f"{columns.count(field)} columns give {field}; keep one"}
             for field in repeated]
        )
    missing = [_missing(field, headers) for field in required if field not in columns]
    if one_of and not any(all(field in columns for field in group) for group in one_of):
        missing += [_missing(field, headers) for field in one_of[0] if field not in columns]
    if missing:
        raise BatchInvalid(missing)
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
