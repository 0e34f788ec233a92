"""The database refuses to change the audit trail: triggers on both engines, and on PostgreSQL an
application role without UPDATE, DELETE or TRUNCATE on the table."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from service.access.principal import Principal, PrincipalKind
from service.access.vocabulary import Role
from service.audit.ddl import APPEND_ONLY_MESSAGE, app_role_grants
from service.audit.models import AuditEvent
from service.audit.service import AuditRecord
from tests.audit.linked import record_linked

ACTOR = Principal(id="cli:test", kind=PrincipalKind.system, roles=frozenset({Role.admin}))


def _entry() -> AuditRecord:
    return AuditRecord(
        actor=ACTOR,
        action="organisation.create",
        decision="allow",
        reason="test",
        resource_type="organisation",
        resource_id=str(uuid.uuid4()),
    )


async def _record_some(database, n: int = 3) -> list[int]:
    async with database.transaction() as session:
        return [(await record_linked(session, _entry()))[0] for _ in range(n)]


async def _snapshot(database) -> list[tuple]:
    async with database.transaction() as session:
        rows = await session.execute(
            select(AuditEvent.seq, AuditEvent.reason, AuditEvent.hash).order_by(AuditEvent.seq)  # type: ignore[arg-type]
        )
        return [tuple(row) for row in rows]


async def _refused(database, statement: str, **params) -> str:
    with pytest.raises(DBAPIError) as raised:
        async with database.transaction() as session:
            await session.execute(text(statement), params)
    return str(raised.value)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET reason = 'rewritten' WHERE seq = :seq",
        "UPDATE audit_event SET decision = 'allow', hash = hash",
        "DELETE FROM audit_event WHERE seq = :seq",
        "DELETE FROM audit_event",  # SQLite's TRUNCATE
    ],
)
async def test_update_and_delete_are_refused_by_the_database(database, statement):
    seqs = await _record_some(database)
    before = await _snapshot(database)

    message = await _refused(
        database, statement, **({"seq": seqs[1]} if ":seq" in statement else {})
    )

    assert APPEND_ONLY_MESSAGE in message
    assert "append-only" in message
    assert await _snapshot(database) == before


async def test_truncate_is_refused_on_postgresql(database, engine_name):
    if engine_name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; `DELETE FROM audit_event` is covered above")
    await _record_some(database)
    before = await _snapshot(database)

    message = await _refused(database, "TRUNCATE audit_event")

    assert "append-only" in message
    assert await _snapshot(database) == before


async def test_inserting_still_works_after_a_refused_change(database):
    seqs = await _record_some(database, 1)
    await _refused(database, "DELETE FROM audit_event WHERE seq = :seq", seq=seqs[0])
    assert await _record_some(database, 1) == [seqs[0] + 1]


class _RollBack(Exception):
    """Raised to undo everything the role test did, the role itself included."""


async def test_postgresql_app_role_may_read_and_append_but_not_change_the_trail(
    database, engine_name
):
    """`app_role_grants` as the operator runs them (`obhvat db grant-app-role`): the role keeps
    every privilege the API needs, and lacks UPDATE, DELETE and TRUNCATE on audit_event, so the
    trail is protected even with its triggers disabled."""
    if engine_name != "postgresql":
        pytest.skip("roles and grants are PostgreSQL's")
    role = f"obhvat_app_{uuid.uuid4().hex[:8]}"
    quoted = f'"{role}"'
    existing = await _record_some(database, 2)

    with pytest.raises(_RollBack):  # CREATE ROLE and GRANT are transactional: all of it is undone
        async with database.transaction() as session:
            await session.execute(text(f"CREATE ROLE {quoted} LOGIN"))
            for statement in app_role_grants(role):
                await session.execute(text(statement))
            # as superuser, switch the triggers off: only the privileges stand in the way now
            await session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            await session.execute(text(f"SET ROLE {quoted}"))
            assert (await session.execute(text("SELECT current_user"))).scalar_one() == role

            # the API's work: read, append (which also moves audit_head), change other tables
            appended = (await record_linked(session, _entry()))[0]
            assert appended == existing[-1] + 1
            count = (await session.execute(text("SELECT count(*) FROM audit_event"))).scalar_one()
            assert count >= 3
            await session.execute(text("UPDATE organisation SET name = name"))

            for statement in (
                "UPDATE audit_event SET reason = 'rewritten'",
                "DELETE FROM audit_event",
                "TRUNCATE audit_event",
                "TRUNCATE organisation CASCADE",
            ):
                with pytest.raises(DBAPIError) as refused:
                    async with session.begin_nested():
                        await session.execute(text(statement))
                assert "permission denied" in str(refused.value), statement

            await session.execute(text("RESET ROLE"))
            raise _RollBack

    async with database.transaction() as session:
        still_there = (
            await session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        ).first()
        triggers = (
            await session.execute(
                text(
                    "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass "
                    "AND NOT tgisinternal AND tgenabled <> 'D'"
                )
            )
        ).scalar_one()
    assert still_there is None
    assert triggers == 2
