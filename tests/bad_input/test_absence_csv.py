"""Bad absence CSV files (POST /absence-reports/csv): broken quoting, ragged rows, formula cells,
wrong encodings, empty and binary files. Each is a 422 problem whose `errors` name the CSV row
(1-based after the header; 0 for the file or its header) and field, and nothing is written: no
absence figure, no batch, no alert.

Formula cells (`=`, `+`, `-`, `@` first, as spreadsheet injection uses them) are refused where
they stand for a value (the PIN, the month, the hours: none of these can start so), and ignored
where the column is one the service never reads (the pupil's name): they are never stored and
never echoed back, so no one's spreadsheet can run them later.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest
from sqlalchemy import select

from service.absences.models import AbsenceBatch, AbsenceReport
from tests.bad_input.helpers import assert_clear_problem, assert_nothing_written, error_rows, snapshot

CSV = {"Content-Type": "text/csv"}
HEADER = "ЕГН;Име;Месец;Неизвинени часове;Извинени часове"
#: pupils of school-koprinka, as its e-diary exports them (names are ignored by the service)
ROWS = [
    "1152035081;Ангел Ангелов;2026-10;9;4",
    "1547262167;Йордан Сашев;2026-10;9;2",
    "1052068754;Симона Йорданова;2026-10;2;2",
    "1546242145;Симеон Асенов;2026-10;1;0",
    "1246079910;Симона Маринова;2026-10;6;0",
]
MIB = 1024 * 1024


def csv_text(*rows: str, header: str = HEADER, newline: str = "\r\n") -> str:
    return newline.join([header, *rows]) + newline


def with_row(number: int, line: str) -> str:
    """The sample with data row `number` (1-based) replaced by `line`."""
    rows = list(ROWS)
    rows[number - 1] = line
    return csv_text(*rows)


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


GOOD = csv_text(*ROWS)

#: (id, file bytes, the errors as (row, field), words the detail says)
BAD: list[Any] = [
    # broken quoting
    pytest.param(utf8(with_row(2, '1547262167;"Йордан Сашев;2026-10;9;2')), [(2, None)], None,
                 id="quote-never-closed"),
    pytest.param(utf8(with_row(3, '1052068754;"Симона" Йорданова;2026-10;2;2')), [(3, None)], None,
                 id="text-after-closing-quote"),
    pytest.param(utf8(with_row(1, '"1152035081;Ангел Ангелов;2026-10;9;4"')), [(1, None)], None,
                 id="whole-row-in-one-quoted-cell"),
    pytest.param(utf8(csv_text(*ROWS, header='"ЕГН;Име;Месец;Неизвинени часове;Извинени часове')),
                 [(0, None)], None, id="quote-never-closed-in-header"),
    # ragged rows
    pytest.param(utf8(with_row(4, "1546242145;Симеон Асенов;2026-10;1")), [(4, None)], "cells", id="row-too-short"),
    pytest.param(utf8(with_row(5, "1246079910;Симона Маринова;2026-10;6;0;1")), [(5, None)], "cells",
                 id="row-too-long"),
    pytest.param(utf8(with_row(1, "1152035081")), [(1, None)], "cells", id="row-of-one-cell"),
    pytest.param(utf8(csv_text(*ROWS, header="ЕГН;Месец;Неизвинени часове")), [(0, "excused_hours")], "column",
                 id="header-without-a-column"),
    pytest.param(utf8(csv_text(*ROWS, header="ЕГН;Име;Месец;Неизвинени часове;Извинени часове;ЕГН")),
                 [(0, "pin")], "column", id="header-with-two-pin-columns"),
    pytest.param(utf8(csv_text(*ROWS, header="ЕГН;pin;Месец;Неизвинени часове;Извинени часове")),
                 [(0, "pin")], "column", id="header-with-pin-under-two-names"),
    # formula cells where a value stands
    pytest.param(utf8(with_row(1, "1152035081;Ангел Ангелов;2026-10;=1+8;4")), [(1, "unexcused_hours")], None,
                 id="formula-equals-in-hours"),
    pytest.param(utf8(with_row(2, "1547262167;Йордан Сашев;2026-10;+9;2")), [(2, "unexcused_hours")], None,
                 id="formula-plus-in-hours"),
    pytest.param(utf8(with_row(3, "1052068754;Симона Йорданова;2026-10;2;-2+3")), [(3, "excused_hours")], None,
                 id="formula-minus-in-hours"),
    pytest.param(utf8(with_row(4, "1546242145;Симеон Асенов;@SUM(A1:A9);1;0")), [(4, "month")], None,
                 id="formula-at-in-month"),
    pytest.param(utf8(with_row(5, '=HYPERLINK("http://example.test/x";"1246079910");Симона Маринова;2026-10;6;0')),
                 [(5, None)], None, id="formula-hyperlink-in-pin-splits-the-row"),
    pytest.param(utf8(with_row(5, '"=HYPERLINK(""http://example.test/x"";""1246079910"")";С. М.;2026-10;6;0')),
                 [(5, "pin")], None, id="formula-hyperlink-in-pin"),
    pytest.param(utf8(with_row(1, '="1152035081";Ангел Ангелов;2026-10;9;4')), [(1, "pin")], None,
                 id="excel-text-formula-in-pin"),
    pytest.param(utf8(with_row(2, "=cmd|' /C calc'!A0;Йордан Сашев;2026-10;9;2")), [(2, "pin")], None,
                 id="dde-formula-in-pin"),
    pytest.param(utf8(with_row(3, "1052068754;Симона Йорданова;2026-10;\t=2;2")), [(3, "unexcused_hours")], None,
                 id="formula-after-a-tab"),
    # other values no e-diary would send
    pytest.param(utf8(with_row(1, "1152035081;Ангел Ангелов;окт. 2026;9;4")), [(1, "month")], None,
                 id="month-in-words"),
    pytest.param(utf8(with_row(2, "1547262167;Йордан Сашев;2026-10;９;2")), [(2, "unexcused_hours")], None,
                 id="full-width-digit"),
    pytest.param(utf8(with_row(3, "1052068754;Симона Йорданова;2026-10;2,5;2")), [(3, "unexcused_hours")], None,
                 id="decimal-comma-in-hours"),
    pytest.param(utf8(with_row(4, "1546242145;" + "Я" * 200_000 + ";2026-10;1;0")), [(4, None)], None,
                 id="cell-over-the-csv-field-limit"),
    pytest.param(utf8(with_row(5, "1152035081;Ангел Ангелов;2026-10;1;0")), [(5, "month")], "already",
                 id="same-pupil-month-twice"),
    # encodings
    pytest.param(GOOD.encode("utf-16"), [(0, None)], "UTF-16", id="utf-16-with-bom"),
    pytest.param(GOOD.encode("utf-16-le"), [(0, None)], "UTF-16", id="utf-16-le"),
    pytest.param(GOOD.encode("utf-16-be"), [(0, None)], "UTF-16", id="utf-16-be"),
    pytest.param(GOOD.encode("utf-32"), [(0, None)], None, id="utf-32"),
    pytest.param(b"\xef\xbb\xbf" + utf8(HEADER + "\r\n") + "\r\n".join(ROWS).encode("cp1251"), [(0, None)],
                 "UTF-8", id="utf-8-bom-then-windows-1251-rows"),
    pytest.param(GOOD.encode("koi8_r"), [(0, "pin"), (0, "month"), (0, "unexcused_hours"), (0, "excused_hours")],
                 "column", id="koi8-r"),
    pytest.param(utf8(GOOD).decode("cp1251", "replace").encode("utf-8"),
                 [(0, "pin"), (0, "month"), (0, "unexcused_hours"), (0, "excused_hours")], "column",
                 id="utf-8-mojibake-read-as-windows-1251"),
    pytest.param(utf8(GOOD).replace(b"2026-10", b"2026-10\x00", 1), [(0, None)], "NUL", id="raw-nul-in-a-cell"),
    # empty, headers only
    pytest.param(b"", [(0, None)], "empty", id="empty-file"),
    pytest.param(b"\xef\xbb\xbf", [(0, None)], "empty", id="bom-only"),
    pytest.param(b"\r\n\r\n  \r\n", [(0, None)], "empty", id="blank-lines-only"),
    pytest.param(utf8(csv_text()), [(0, None)], "no data rows", id="header-only"),
    pytest.param(utf8(csv_text(";;;;", "", ";;;;")), [(0, None)], "no data rows", id="header-and-empty-rows"),
    pytest.param(csv_text().encode("cp1251"), [(0, None)], "no data rows", id="header-only-windows-1251"),
    # binary files
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), [(0, None)], "not a text",
                 id="png"),
    pytest.param(b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + b"xl/workbook.xml" * 20, [(0, None)], "not a text",
                 id="xlsx"),
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), [(0, None)], "not a text", id="xls"),
    pytest.param(bytes(range(1, 256)) * 40, [(0, None)], "neither", id="every-byte-but-nul"),
    pytest.param(random.Random(7).randbytes(4096), [(0, None)], None, id="random-bytes"),
]


@pytest.fixture(autouse=True)
def november_2026(app):
    app.state.clock = lambda: datetime.date(2026, 11, 23)


async def test_the_sample_file_the_corpus_breaks_is_accepted(client, world):
    headers = await world.headers("school-koprinka.staff", **CSV)
    response = await client.post("/api/v1/absence-reports/csv", content=utf8(GOOD), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["rows_accepted"] == len(ROWS)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(GOOD.encode("cp1251"), id="windows-1251"),
        pytest.param(b"\xef\xbb\xbf" + utf8(GOOD), id="utf-8-bom"),
        pytest.param(utf8(GOOD.replace(";", ",")), id="comma-delimited"),
        pytest.param(utf8(csv_text(*ROWS, newline="\n")), id="unix-line-ends"),
        pytest.param(utf8(csv_text(*ROWS, newline="\r")), id="old-mac-line-ends"),
        pytest.param(utf8(csv_text(*ROWS).rstrip("\r\n")), id="no-final-line-end"),
        pytest.param(utf8(csv_text(*ROWS[:2], "", ";;;;", *ROWS[2:]) + "\r\n\r\n"), id="blank-lines"),
        pytest.param(utf8(with_row(1, '1152035081;"Ангелов; Ангел ""Гошо""";2026-10;9;4')), id="quoted-name"),
        pytest.param(utf8(with_row(2, " 1547262167 ; Йордан ; 2026-10 ; 9 ; 2 ")), id="spaces-around-cells"),
        pytest.param(utf8(csv_text(*ROWS, header="егн;име;месец;неизвинени;извинени")), id="lower-case-header"),
    ],
)
async def test_what_e_diaries_really_export_is_accepted(client, world, content):
    """The corpus below refuses bad files; these odd but good ones must still go through."""
    headers = await world.headers("school-koprinka.staff", **CSV)
    response = await client.post("/api/v1/absence-reports/csv", content=content, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["rows_accepted"] == len(ROWS)


@pytest.mark.parametrize(("content", "errors", "says"), BAD)
async def test_a_bad_csv_is_a_422_naming_row_and_field_and_writes_nothing(
    client, world, database, content, errors, says
):
    headers = await world.headers("school-koprinka.staff", **CSV)
    before = await snapshot(database)

    response = await client.post("/api/v1/absence-reports/csv", content=content, headers=headers)

    body = assert_clear_problem(response, 422)
    assert error_rows(body) == errors, body
    if says is not None:
        assert says.lower() in " ".join([body["detail"], *(e["detail"] for e in body["errors"])]).lower(), body
    for cell in ("=1+8", "+9", "-2+3", "@SUM", "HYPERLINK", "cmd|", "Ангел", "Йордан"):
        assert cell not in response.text, f"the problem echoes a cell back: {cell}"
    await assert_nothing_written(database, before)


async def test_a_csv_over_10_mib_is_a_413_and_writes_nothing(client, world, database):
    headers = await world.headers("school-koprinka.staff", **CSV)
    before = await snapshot(database)
    line = ROWS[0] + "\r\n"
    content = utf8(HEADER + "\r\n" + line * (10 * MIB // len(utf8(line)) + 1))
    assert len(content) > 10 * MIB

    response = await client.post("/api/v1/absence-reports/csv", content=content, headers=headers)

    assert_clear_problem(response, 413)
    await assert_nothing_written(database, before)


async def test_a_formula_in_the_ignored_name_column_is_neither_stored_nor_echoed(client, world, database):
    formulas = ["=cmd|' /C calc'!A0", "+HYPERLINK(\"http://example.test\")", "-1+1", "@SUM(A1:A9)"]
    rows = [f"{row.split(';')[0]};{formula};2026-10;9;1" for row, formula in zip(ROWS, formulas, strict=False)]
    headers = await world.headers("school-koprinka.staff", **CSV)

    response = await client.post("/api/v1/absence-reports/csv", content=utf8(csv_text(*rows)), headers=headers)

    assert response.status_code == 201, response.text
    assert response.json()["rows_accepted"] == len(formulas)
    async with database.transaction() as session:
        stored = repr((await session.execute(select(AbsenceReport))).scalars().all())
        stored += repr((await session.execute(select(AbsenceBatch))).scalars().all())
    for formula in formulas:
        assert formula not in response.text
        assert formula not in stored
