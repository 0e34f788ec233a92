"""Bad roster files (POST /enrolments/batch/csv): broken quoting, ragged rows, missing columns,
wrong encodings, empty, binary and huge files, formula cells, look-alike letters. Each is a
4xx problem naming the CSV row (1-based after the header; 0 for the file or its header) and
field, and nothing is written: no child, no enrolment, no audit event (a refusal for the file's
form is no decision about anyone; one for a pupil another school holds is, and is audited)."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import pytest

from tests.bad_input.helpers import assert_clear_problem, assert_nothing_written, error_rows, snapshot
from tests.children.helpers import egn_for

CSV = {"Content-Type": "text/csv"}
HEADER = "ЕГН;Име;Фамилия;Пол;Клас"
NEW = egn_for(date(2018, 2, 19), serial=317)
ROWS = [
    "1152035081;Ангел;Ангелов;м;9",  # a Koprinka pupil of the demo
    f"{NEW};Радина;Колева;ж;2",
]
MIB = 1024 * 1024


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


async def _post(client, world, content: bytes):
    return await client.post(
        "/api/v1/enrolments/batch/csv", content=content, headers=await world.headers("school-koprinka.admin", **CSV)
    )


async def _assert_nothing_applied(database, before: dict[str, int]) -> None:
    """No table changed but the audit trail's (a roster refused for a pupil another school holds
    is a decision, written there)."""
    after = await snapshot(database)
    changed = {
        name: (before[name], after[name]) for name in before
        if before[name] != after[name] and not name.startswith("audit")
    }
    assert not changed, f"a refused roster wrote something: {changed}"


BAD_FILES: list[tuple[str, bytes, list[tuple[int, Any]]]] = [
    ("ragged row", csv_text(ROWS[0], f"{NEW};Радина;Колева;ж").encode(), [(2, None)]),
    ("broken quote", csv_text(ROWS[0], f'{NEW};"Радина;Колева;ж;2').encode(), [(2, None)]),
    ("no grade column", csv_text(ROWS[0].rsplit(";", 1)[0], header="ЕГН;Име;Фамилия;Пол").encode(), [(0, "grade")]),
    ("two pin columns", csv_text(header="ЕГН;ЛНЧ;Име;Фамилия;Пол;Клас").encode(), [(0, "pin")]),
    ("empty", b"", [(0, None)]),
    ("only a header", csv_text().encode(), [(0, None)]),
    ("UTF-16", csv_text(*ROWS).encode("utf-16"), [(0, None)]),
    ("neither UTF-8 nor Windows-1251", csv_text(*ROWS).encode() + b"\x98\xff", [(0, None)]),
    ("formula in the PIN", csv_text(ROWS[0], "=1+1;Радина;Колева;ж;2").encode(), [(2, "pin")]),
    ("formula in the grade", csv_text(ROWS[0], f"{NEW};Радина;Колева;ж;=2+0").encode(), [(2, "grade")]),
    ("Latin look-alike in a Cyrillic name", csv_text(ROWS[0], f"{NEW};Рaдина;Колева;ж;2").encode(),
     [(2, "given_name")]),
    ("invisible character in a name", csv_text(ROWS[0], f"{NEW};Ради\u200bна;Колева;ж;2").encode(),
     [(2, "given_name")]),
    ("a name of 101 letters", csv_text(ROWS[0], f"{NEW};{'Р' * 101};Колева;ж;2").encode("cp1251"),
     [(2, "given_name")]),
    ("unknown sex", csv_text(ROWS[0], f"{NEW};Радина;Колева;жена?;2").encode(), [(2, "sex")]),
    ("a grade in words", csv_text(ROWS[0], f"{NEW};Радина;Колева;ж;втори").encode("cp1251"), [(2, "grade")]),
    ("the same pupil twice", csv_text(*ROWS, ROWS[1]).encode(), [(3, "pin")]),
]


@pytest.mark.parametrize(("content", "expected"), [(c, e) for _, c, e in BAD_FILES], ids=[n for n, _, _ in BAD_FILES])
async def test_a_bad_roster_is_a_422_naming_row_and_field_and_applies_nothing(client, world, database, content,
                                                                             expected):
    before = await snapshot(database)
    body = assert_clear_problem(await _post(client, world, content), 422)
    assert error_rows(body) == expected, body
    await assert_nothing_written(database, before)


async def test_cyrillic_and_latin_names_in_either_encoding_are_accepted(client, world):
    rows = [f"{NEW};Мария-Десислава;Попова-Колева;ж;2", f"{egn_for(date(2017, 1, 2), serial=5)};Liam;O'Neill;m;4"]
    for content in (csv_text(*rows).encode("cp1251", errors="strict"), b"\xef\xbb\xbf" + csv_text(*rows).encode()):
        response = await _post(client, world, content)
        assert response.status_code == 200, response.text
    assert response.json()["matched"] == 2  # the second file matched the first one's pupils


async def test_a_roster_over_10_mib_is_a_413_and_applies_nothing(client, world, database):
    before = await snapshot(database)
    line = f"{NEW};Радина;Колева;ж;2\r\n"
    content = (HEADER + "\r\n" + line * (10 * MIB // len(line.encode()) + 1)).encode()
    assert len(content) > 10 * MIB
    assert_clear_problem(await _post(client, world, content), 413)
    await assert_nothing_written(database, before)


async def test_a_roster_of_more_pupils_than_any_school_has_is_refused(client, world, database):
    before = await snapshot(database)
    rows = [f"{egn_for(date(2010, 1, 1) + timedelta(days=i // 900), serial=i % 900)};Радина;Колева;ж;2"
            for i in range(20_001)]
    body = assert_clear_problem(await _post(client, world, csv_text(*rows).encode()), 422)
    assert error_rows(body) == [(20_001, None)]
    await assert_nothing_written(database, before)


async def test_one_bad_row_at_the_end_of_a_whole_school_applies_nothing(client, world, database):
    """3,000 new pupils and a last row naming a pupil of another school: nothing at all."""
    rows = [f"{egn_for(date(2012, 1, 1) + timedelta(days=i // 900), serial=i % 900)};Радина;Колева;ж;{i % 12 + 1}"
            for i in range(3000)]
    before = await snapshot(database)
    refused = await _post(client, world, csv_text(*rows, "1552049639;Цветелина;Асенова;ж;5").encode("cp1251"))
    assert error_rows(assert_clear_problem(refused, 422)) == [(3001, "pin")]
    await _assert_nothing_applied(database, before)

    started = time.perf_counter()
    accepted = await _post(client, world, csv_text(*rows).encode("cp1251"))
    elapsed = time.perf_counter() - started
    assert accepted.status_code == 200, accepted.text[:500]
    assert (accepted.json()["registered"], accepted.json()["enrolled"]) == (3000, 3000)
    print(f"\nroster of 3000 new pupils imported in {elapsed:.2f} s ({3000 / elapsed:.0f} rows/s)")
