"""`obhvat enrolments import` and `obhvat settlements load`, run as an operator would, against
a SQLite file of their own (the demo loaded)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.demo.loader import DEFAULT_DEMO_FILE
from tests.test_cli import Operator

SAMPLE_ROSTER = DEFAULT_DEMO_FILE.with_name("roster-koprinka-2026.cp1251.csv")


@pytest.fixture
def obhvat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Operator]:
    import os

    for name in list(os.environ):
        if name.startswith("OBHVAT_"):
            monkeypatch.delenv(name)
    operator = Operator(tmp_path)
    operator.ok("db", "upgrade")
    operator.ok("demo", "load")
    yield operator


def _koprinka_enrolments(obhvat: Operator) -> int:
    return int(obhvat.query(
        "SELECT count(*) FROM enrolment JOIN organisation ON organisation.id = enrolment.school_id "
        "WHERE organisation.code = 'school-koprinka'"
    )[0][0])


def test_the_sample_roster_imports_with_a_progress_bar_and_a_summary(obhvat: Operator):
    before = _koprinka_enrolments(obhvat)
    result = obhvat.ok("enrolments", "import", str(SAMPLE_ROSTER), "--school", "school-koprinka")
    assert "roster of school-koprinka: 12 pupils, 2 registered, 2 enrolled, 10 already enrolled" in result.stdout
    assert "importing pupils" in result.stderr
    assert _koprinka_enrolments(obhvat) == before + 2
    # the same roster again: everyone matched, nothing new
    again = obhvat.ok("enrolments", "import", str(SAMPLE_ROSTER), "--school", "school-koprinka")
    assert "0 registered, 0 enrolled, 12 already enrolled" in again.stdout
    assert obhvat.query("SELECT count(*) FROM audit_event WHERE action = 'enrolment.roster'")[0][0] == 24


def test_a_bad_roster_prints_each_row_error_and_imports_nothing(obhvat: Operator, tmp_path: Path):
    bad = tmp_path / "roster.csv"
    bad.write_bytes(
        "ЕГН;Име;Фамилия;Пол;Клас\r\n1945082140;Даниел;Николов;м;1\r\n1552049639;Цветелина;Асенова;ж;14\r\n"
        .encode("cp1251")
    )
    before = _koprinka_enrolments(obhvat)
    result = obhvat("enrolments", "import", str(bad), "--school", "school-koprinka")
    assert result.exit_code == 1, result.output
    assert "row 2, grade:" in result.stderr
    assert "nothing was imported" in result.stderr
    assert _koprinka_enrolments(obhvat) == before
    unknown = obhvat("enrolments", "import", str(SAMPLE_ROSTER), "--school", "police-kazanlak")
    assert unknown.exit_code == 1 and "no school with code" in unknown.stderr


def test_the_help_explains_the_columns(obhvat: Operator):
    shown = obhvat.ok("enrolments", "import", "--help").stdout
    for words in ("ЕГН", "Клас", "all rows or none", "--school", "released"):
        assert words in shown, words
    assert "national list" in obhvat.ok("settlements", "load", "--help").stdout


def test_the_national_classifier_loads_from_an_nsi_file_and_updates_by_code(obhvat: Operator, tmp_path: Path):
    nsi = tmp_path / "Ek_atte.csv"
    nsi.write_bytes(
        "ekatte;t_v_m;name;oblast;obstina\r\n"
        "35167;гр.;Казанлък;SZR;SZR12\r\n68134;гр.;София;SOF;SOF46\r\n00151;с.;Абланица;BLG;BLG01\r\n"
        .encode("cp1251")
    )
    result = obhvat.ok("settlements", "load", str(nsi))
    assert "3 settlements loaded" in result.stdout
    assert obhvat.query("SELECT name, municipality_code FROM settlement WHERE code = '68134'") == [("София", "SOF46")]
    assert obhvat.query("SELECT name FROM settlement WHERE code = '35167'") == [("Казанлък", )]

    broken = tmp_path / "broken.csv"
    broken.write_text("ekatte,name,obstina\n1234567,Нещо,SOF46\n99999,Друго,sofia\n", encoding="utf-8")
    refused = obhvat("settlements", "load", str(broken))
    assert refused.exit_code == 1
    assert "row 1, code:" in refused.stderr and "row 2, municipality_code:" in refused.stderr
    assert obhvat.query("SELECT count(*) FROM settlement WHERE code = '99999'") == [(0,)]
