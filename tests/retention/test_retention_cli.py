"""`obhvat retention run [--dry-run]` as an operator runs it, on a SQLite file of its own."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from service.cli import app as cli


class Operator:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = {"OBHVAT_DATA_DIR": str(data_dir)}

    def ok(self, *args: str, **env: str) -> Result:
        result = CliRunner().invoke(cli, list(args), env={**self.env, **env}, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
        return result

    def query(self, sql: str) -> list[tuple]:
        connection = sqlite3.connect(self.data_dir / "obhvat.sqlite3")
        try:
            with connection:
                return list(connection.execute(sql))
        finally:
            connection.close()


@pytest.fixture
def obhvat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Operator:
    for name in list(os.environ):
        if name.startswith("OBHVAT_"):
            monkeypatch.delenv(name)
    operator = Operator(tmp_path)
    operator.ok("db", "upgrade")
    operator.query(
        "INSERT INTO idempotency_record (principal_id, key, operation, request_hash, response_status, "
        "response_body, response_headers, created_at) VALUES "
        "('someone', 'old', 'alerts.create', 'x', 201, '{}', '{}', '2026-01-01 10:00:00.000000+00:00'), "
        "('someone', 'new', 'alerts.create', 'x', 201, '{}', '{}', '2999-01-01 10:00:00.000000+00:00')"
    )
    return operator


def test_a_dry_run_prints_the_counts_per_rule_and_changes_nothing(obhvat):
    result = obhvat.ok("retention", "run", "--dry-run")

    assert "dry run, nothing was changed" in result.stdout
    assert "idempotency records purged: 1" in result.stdout
    assert "children anonymised: 0" in result.stdout and "consents' guardian names removed: 0" in result.stdout
    assert "children 5 years" in result.stdout and "30 days" in result.stdout
    assert obhvat.query("SELECT key FROM idempotency_record ORDER BY key") == [("new",), ("old",)]
    assert obhvat.query("SELECT count(*) FROM audit_event") == [(0,)]


def test_the_periods_come_from_the_environment(obhvat):
    result = obhvat.ok("retention", "run", "--dry-run", OBHVAT_RETENTION_KEYS_DAYS="3650")
    assert "idempotency records purged: 0" in result.stdout and "3650 days" in result.stdout


def test_a_run_purges_audits_as_the_operator_and_the_chain_verifies(obhvat):
    result = obhvat.ok("retention", "run")

    assert "idempotency records purged: 1" in result.stdout
    assert "1 records changed" in result.stdout
    assert obhvat.query("SELECT key FROM idempotency_record") == [("new",)]
    [(action, actor, resource_type, resource_id)] = obhvat.query(
        "SELECT action, actor_id, resource_type, resource_id FROM audit_event"
    )
    assert (action, resource_type) == ("retention.idempotency_record.purge", "idempotency_record")
    assert actor.startswith("cli:") and resource_id != "old"
    assert "audit chain intact: 1 events" in obhvat.ok("audit", "verify").stdout
    assert "idempotency records purged: 0" in obhvat.ok("retention", "run", "--dry-run").stdout


def test_the_migration_is_not_reverted_over_anonymised_children(obhvat):
    obhvat.query(
        "INSERT INTO child (id, sex, created_at, anonymised_at) VALUES ('0123456789abcdef0123456789abcdef', "
        "'male', '2020-01-01 10:00:00.000000+00:00', '2026-01-01 10:00:00.000000+00:00')"
    )
    below_retention = "0008"
    result = CliRunner().invoke(cli, ["db", "downgrade", below_retention], env=obhvat.env, catch_exceptions=False)

    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "anonymised" in result.stderr
    assert obhvat.query("SELECT count(*) FROM child WHERE anonymised_at IS NOT NULL") == [(1,)]
