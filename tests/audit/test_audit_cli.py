"""`obhvat audit verify | checkpoint | export`, run as an operator would against a SQLite file
of its own, with the file tampered with directly (as someone with access to the disk could)."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from service.auditor.export import EXPORT_FIELDS
from service.cli import app as cli


class Operator:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()
        self.env = {
            "OBHVAT_DATA_DIR": str(data_dir),
            "OBHVAT_ARGON2_TIME_COST": "1",
            "OBHVAT_ARGON2_MEMORY_KIB": "64",
        }

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(cli, list(args), env=self.env, catch_exceptions=False)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, (args, result.output)
        return result

    def broken(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "Traceback" not in result.output
        return result

    def sql(self, *statements: str, params: tuple = ()) -> list[tuple]:
        """Run statements on the database file directly and commit, returning the last one's rows."""
        connection = sqlite3.connect(self.data_dir / "obhvat.sqlite3")
        try:
            rows: list[tuple] = []
            for statement in statements:
                rows = list(connection.execute(statement, params if "?" in statement else ()))
            connection.commit()
            return rows
        finally:
            connection.close()

    def last_seq(self) -> int:
        return self.sql("SELECT max(seq) FROM audit_event")[0][0]


@pytest.fixture
def obhvat(tmp_path: Path) -> Operator:
    operator = Operator(tmp_path)
    operator.ok("db", "upgrade")
    operator.ok("demo", "load")
    assert operator.last_seq() >= 30
    return operator


def _broken_at(result: Result) -> int:
    found = re.search(r"BROKEN at event (\d+)", result.output)
    assert found, result.output
    return int(found.group(1))


def test_a_checkpoint_written_to_a_file_verifies_against_the_intact_trail(obhvat, tmp_path):
    last = obhvat.last_seq()
    made = obhvat.ok("audit", "checkpoint", "--output", str(tmp_path / "cp.json"))

    kept = json.loads((tmp_path / "cp.json").read_text(encoding="utf-8"))
    assert json.loads(made.stdout) == kept
    assert kept["seq"] == last and len(kept["hash"]) == 64 and kept["signature"].count(".") == 2

    verified = obhvat.ok("audit", "verify", "--checkpoint", str(tmp_path / "cp.json"))
    assert f"intact: {last} events, head {last}" in verified.stdout
    assert f"extends the checkpoint at event {last}" in verified.stdout


def test_the_file_refuses_changes_until_its_triggers_are_dropped(obhvat):
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        obhvat.sql("UPDATE audit_event SET reason = 'x' WHERE seq = 5")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        obhvat.sql("DELETE FROM audit_event WHERE seq = 5")
    obhvat.ok("audit", "verify")


def test_a_changed_event_in_the_file_fails_verify_naming_the_event(obhvat):
    obhvat.sql(
        "DROP TRIGGER audit_event_no_update",
        "UPDATE audit_event SET decision = 'allow', reason = 'nothing to see' WHERE seq = 17",
    )

    result = obhvat.broken("audit", "verify")

    assert _broken_at(result) == 17
    assert "event 17" in result.stderr and "changed" in result.stderr


def test_a_deleted_event_in_the_file_fails_verify_naming_it(obhvat):
    obhvat.sql("DROP TRIGGER audit_event_no_delete", "DELETE FROM audit_event WHERE seq = 8")

    assert _broken_at(obhvat.broken("audit", "verify")) == 8


def test_a_truncated_tail_with_a_fixed_head_passes_alone_but_not_against_a_checkpoint(obhvat, tmp_path):
    checkpoint = tmp_path / "cp.json"
    obhvat.ok("audit", "checkpoint", "--output", str(checkpoint))
    last = obhvat.last_seq()
    keep = last - 3

    obhvat.sql("DROP TRIGGER audit_event_no_delete", f"DELETE FROM audit_event WHERE seq > {keep}")
    assert _broken_at(obhvat.broken("audit", "verify")) == keep + 1  # the head still names `last`

    obhvat.sql(f"UPDATE audit_head SET seq = {keep}, hash = (SELECT hash FROM audit_event WHERE seq = {keep})")

    alone = obhvat.ok("audit", "verify")
    assert f"intact: {keep} events, head {keep}" in alone.stdout

    against = obhvat.broken("audit", "verify", "--checkpoint", str(checkpoint))
    assert _broken_at(against) == last
    assert "truncated" in against.stderr


def test_a_checkpoint_that_is_not_readable_is_a_one_line_error(obhvat, tmp_path):
    result = obhvat.broken("audit", "verify", "--checkpoint", str(tmp_path / "missing.json"))
    assert result.stderr.strip().startswith("error: cannot read checkpoint")


def test_csv_export_parses_with_a_header_and_one_row_per_event(obhvat):
    events = obhvat.sql("SELECT seq, action, decision, hash FROM audit_event ORDER BY seq")

    exported = obhvat.ok("audit", "export", "--format", "csv").stdout

    assert exported.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"), newline="")))
    assert tuple(rows[0]) == EXPORT_FIELDS
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(int(r["seq"]), r["action"], r["decision"], r["hash"]) for r in body] == events


def test_jsonl_export_has_one_object_per_event(obhvat):
    seqs = [r[0] for r in obhvat.sql("SELECT seq FROM audit_event ORDER BY seq")]

    lines = obhvat.ok("audit", "export").stdout.splitlines()

    assert [json.loads(line)["seq"] for line in lines] == seqs


def test_export_refuses_an_unknown_format(obhvat):
    assert "jsonl or csv" in obhvat.broken("audit", "export", "--format", "xlsx").stderr
