"""Database-level protection of the audit trail: triggers that refuse UPDATE, DELETE and
TRUNCATE, and the grants for an application role that lacks those privileges.

Used by the migrations; kept here so the statements live beside the table they protect.
"""

from __future__ import annotations

from collections.abc import Callable

APPEND_ONLY_MESSAGE = "audit_event is append-only"

_POSTGRES_UP = [
    f"""
    CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
    END;
    $$
    """,
    """
    CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()
    """,
    """
    CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()
    """,
]
_POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_update_delete ON audit_event",
    "DROP FUNCTION IF EXISTS audit_event_refuse_change()",
]
# SQLite has no TRUNCATE: `DELETE FROM t` without WHERE is its truncate, and the trigger fires.
_SQLITE_UP = [
    f"""
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END
    """,
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
    "DROP TRIGGER IF EXISTS audit_event_no_update",
]


def create_append_only_triggers(dialect: str, execute: Callable[[str], object]) -> None:
    for statement in _POSTGRES_UP if dialect == "postgresql" else _SQLITE_UP:
        execute(statement)


def drop_append_only_triggers(dialect: str, execute: Callable[[str], object]) -> None:
    for statement in _POSTGRES_DOWN if dialect == "postgresql" else _SQLITE_DOWN:
        execute(statement)


def app_role_grants(role: str) -> list[str]:
    """PostgreSQL statements that let `role` use every table but only read and append the
    audit trail. The role name is quoted as an identifier."""
    quoted = '"' + role.replace('"', '""') + '"'
    return [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM {quoted}",
        f"REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM {quoted}",
    ]
