"""The migrations: they build exactly the models' schema, can be walked down and up again, and
keep the audit trail's protection in place."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from service.core.migrations import (
    MIGRATIONS_DIR,
    alembic_config,
    downgrade,
    head_revision,
    upgrade,
)
from service.models import metadata
from tests.conftest import IN_CI, POSTGRES_ADMIN_URL, _postgres_available, _with_database

APP_TABLES = {
    "alert",
    "alert_action",
    "alert_recipient",
    "api_client",
    "app_user",
    "audit_event",
    "audit_head",
    "audit_pending",
    "child",
    "enrolment",
    "feed_counter",
    "idempotency_record",
    "organisation",
    "organisation_municipality",
    "routing_rule",
}


# -- a fresh database per test, on either engine ------------------------------------------------


class FreshDatabase:
    def __init__(self, engine: str, url: str, raw: str) -> None:
        self.engine = engine
        self.url = url  # for alembic (async driver)
        self.raw = raw  # for a plain DB-API connection

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.engine == "sqlite":
            connection = sqlite3.connect(self.raw)
            try:
                with connection:
                    return list(connection.execute(sql, params))
            finally:
                connection.close()
        with psycopg.connect(self.raw, autocommit=True) as connection:
            cursor = connection.execute(sql, params)
            return list(cursor) if cursor.description is not None else []

    def tables(self) -> set[str]:
        if self.engine == "sqlite":
            rows = self.query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        else:
            rows = self.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r[0] for r in rows}

    def triggers(self) -> set[str]:
        if self.engine == "sqlite":
            rows = self.query(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
            )
        else:
            rows = self.query(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid = to_regclass('public.audit_event')"
            )
        return {r[0] for r in rows}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FreshDatabase]:
    if request.param == "sqlite":
        path = tmp_path / "migrations.sqlite3"
        yield FreshDatabase("sqlite", f"sqlite+aiosqlite:///{path}", str(path))
        return
    problem = _postgres_available()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    name = f"obhvat_migrations_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    raw = _with_database(POSTGRES_ADMIN_URL, name)
    try:
        yield FreshDatabase(
            "postgresql", raw.replace("postgresql://", "postgresql+psycopg://"), raw
        )
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _insert_audit_row(db: FreshDatabase) -> None:
    placeholder = "?" if db.engine == "sqlite" else "%s"
    values = (
        1,
        "2026-11-23 10:00:00.000000+00:00",
        "cli:test",
        "system",
        "[]",
        "x",
        "allow",
        "t",
        False,
        "0" * 64,
        "a" * 64,
    )
    columns = (
        "seq, occurred_at, actor_id, actor_kind, actor_roles, action, decision, reason, "
        "break_glass, prev_hash, hash"
    )
    placeholders = ", ".join([placeholder] * len(values))
    db.query(f"INSERT INTO audit_event ({columns}) VALUES ({placeholders})", values)  # noqa: S608


def _refuses_change(db: FreshDatabase, sql: str) -> str:
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.InsufficientPrivilege)) as raised:
        db.query(sql)
    return str(raised.value)


def test_upgrade_downgrade_to_base_and_upgrade_again(fresh_database: FreshDatabase):
    db = fresh_database
    upgrade(db.url)
    assert APP_TABLES <= db.tables()
    assert len(db.triggers()) == 2
    assert db.query("SELECT version_num FROM alembic_version") == [(head_revision(),)]
    seeded_rules = db.query("SELECT alert_type FROM routing_rule ORDER BY alert_type")
    assert seeded_rules

    downgrade(db.url, "base")
    assert db.tables() - {"alembic_version"} == set()
    assert db.query("SELECT version_num FROM alembic_version") == []
    if db.engine == "postgresql":
        assert db.query("SELECT 1 FROM pg_proc WHERE proname = 'audit_event_refuse_change'") == []

    upgrade(db.url)
    assert APP_TABLES <= db.tables()
    assert db.query("SELECT version_num FROM alembic_version") == [(head_revision(),)]
    # seeds are back exactly once: the audit chain head, the feed counter, the routing rules
    assert db.query("SELECT seq, hash FROM audit_head") == [(0, "0" * 64)]
    assert db.query("SELECT id, seq FROM feed_counter") == [(1, 0)]
    assert db.query("SELECT alert_type FROM routing_rule ORDER BY alert_type") == seeded_rules

    # and the audit trail is protected again
    assert len(db.triggers()) == 2
    _insert_audit_row(db)
    assert "append-only" in _refuses_change(db, "UPDATE audit_event SET reason = 'rewritten'")
    assert "append-only" in _refuses_change(db, "DELETE FROM audit_event")
    if db.engine == "postgresql":
        assert "append-only" in _refuses_change(db, "TRUNCATE audit_event")
    assert db.query("SELECT reason FROM audit_event") == [("t",)]


def test_each_migration_downgrades_one_step_at_a_time(fresh_database: FreshDatabase):
    db = fresh_database
    script = ScriptDirectory.from_config(alembic_config(db.url))
    revisions = [r.revision for r in script.walk_revisions()]  # newest first
    upgrade(db.url)
    for expected_current in [*revisions[1:], None]:
        downgrade(db.url, "-1")
        current = db.query("SELECT version_num FROM alembic_version")
        assert current == ([(expected_current,)] if expected_current else [])
    assert db.tables() - {"alembic_version"} == set()
    upgrade(db.url)
    assert APP_TABLES <= db.tables()


# -- the migrated schema is the models' schema --------------------------------------------------


def _differences(connection) -> list:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": True, "target_metadata": metadata},
    )
    return compare_metadata(context, metadata)


async def test_autogenerate_finds_no_difference_between_models_and_migrations(engine):
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == [], (
        "the models and the migrations differ; generate a migration:\n"
        + "\n".join(map(str, differences))
    )


# -- the migration files ------------------------------------------------------------------------

DATE_SLUG = re.compile(r"^(\d{4}-\d{2}-\d{2})_([a-z0-9]+(?:_[a-z0-9]+)*)\.py$")


def test_migration_files_are_named_date_slug():
    files = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert files
    for name in files:
        match = DATE_SLUG.match(name)
        assert match, f"{name} is not YYYY-MM-DD_slug.py"
        date.fromisoformat(match.group(1))  # a real date


def test_migrations_form_one_line_of_history():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    for newer, older in zip(revisions, revisions[1:], strict=False):
        assert newer.down_revision == older.revision
    files = {Path(r.path).name for r in revisions}
    assert files == {p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py")}


def test_upgrading_encrypts_webhook_secrets_kept_in_the_clear_and_downgrading_restores_them(
    fresh_database: FreshDatabase, monkeypatch: pytest.MonkeyPatch
):
    from service.core.settings import load_settings
    from service.delivery.secrets import unseal, webhook_secret_box

    monkeypatch.setenv("OBHVAT_WEBHOOK_SECRET_KEY", "migration-test-key-" + "m" * 32)
    db = fresh_database
    upgrade(db.url, "0012")
    organisation_id, webhook_id = uuid.uuid4(), uuid.uuid4()
    secret = "whsec_" + "A" * 43 + "="
    mark = "?" if db.engine == "sqlite" else "%s"
    as_db = (lambda u: u.hex) if db.engine == "sqlite" else str
    db.query(
        f"INSERT INTO organisation (id, code, kind, name, created_at) VALUES ({mark}, 'police-x', 'police', 'P', "
        "'2026-11-01 00:00:00')",
        (as_db(organisation_id),),
    )
    db.query(
        "INSERT INTO webhook (id, organisation_id, url, events, secret, created_by, created_at) "
        f"VALUES ({mark}, {mark}, 'https://hooks.example/x', '[\"alert.routed\"]', {mark}, 'cli:test', "
        "'2026-11-01 00:00:00')",
        (as_db(webhook_id), as_db(organisation_id), secret),
    )

    upgrade(db.url)
    [(stored,)] = db.query("SELECT secret FROM webhook")
    assert stored != secret and "A" * 43 not in stored
    assert unseal(webhook_secret_box(load_settings()), webhook_id, stored) == secret

    downgrade(db.url, "0012")
    assert db.query("SELECT secret FROM webhook") == [(secret,)]
