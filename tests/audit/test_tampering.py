"""An auditor detects each way of tampering with the trail, naming the first bad event.

Each test first does what a database superuser could: switch the append-only triggers off
(inside the test's transaction, which is rolled back afterwards)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text

from service.audit import checkpoints
from service.audit.chain import HASHED_FIELDS, event_hash
from service.audit.models import AuditEvent
from service.audit.verify import verify_chain

VERIFY = "/api/v1/audit/verify"


async def _superuser(session) -> None:
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    else:
        await session.execute(text("DROP TRIGGER audit_event_no_update"))
        await session.execute(text("DROP TRIGGER audit_event_no_delete"))


async def _tamper(database, *statements: str) -> None:
    async with database.transaction() as session:
        await _superuser(session)
        for statement in statements:
            await session.execute(text(statement))


async def _last_seq(session) -> int:
    return (await session.execute(select(func.max(AuditEvent.seq)))).scalar_one()


async def _forge_after(session, seq: int, new_seq: int) -> None:
    """Insert a correctly hashed event `new_seq` linked to event `seq` (typed values, so the
    forgery is self-consistent on both engines)."""
    row = (await session.execute(select(AuditEvent).where(AuditEvent.seq == seq))).scalar_one()
    fields = {name: getattr(row, name) for name in HASHED_FIELDS} | {"seq": new_seq, "reason": "forged"}
    await session.execute(insert(AuditEvent).values(**fields, prev_hash=row.hash, hash=event_hash(row.hash, fields)))


async def _verify(client, world) -> dict:
    response = await client.get(VERIFY, headers=await world.headers("rue-lovech.auditor"))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def trail(client, world) -> int:
    """The demo load's events: the number of the last one."""
    result = await _verify(client, world)
    assert result["ok"] and result["checked"] == result["head"]["seq"] >= 30
    return result["head"]["seq"]


async def test_an_intact_trail_verifies(client, world, trail):
    result = await _verify(client, world)
    assert result["ok"] and result["first_bad_seq"] is None


async def test_a_changed_event_is_named(client, world, database, trail):
    await _tamper(database, "UPDATE audit_event SET reason = 'nothing to see' WHERE seq = 12")
    result = await _verify(client, world)
    assert (result["ok"], result["first_bad_seq"]) == (False, 12)
    assert "changed" in result["problem"]


async def test_a_deleted_event_is_named(client, world, database, trail):
    await _tamper(database, "DELETE FROM audit_event WHERE seq = 9")
    result = await _verify(client, world)
    assert (result["ok"], result["first_bad_seq"]) == (False, 9)
    assert "missing" in result["problem"]


async def test_an_inserted_event_breaks_the_link_of_the_event_after_it(client, world, database, trail):
    # Renumber 10.. upwards, then forge a correctly hashed event 10 linked to event 9. The forged
    # event is self-consistent; the original event 10 (now 11) no longer links to it.
    async with database.transaction() as session:
        await _superuser(session)
        for seq in range(await _last_seq(session), 9, -1):
            await session.execute(
                text("UPDATE audit_event SET seq = :new WHERE seq = :old"), {"new": seq + 1, "old": seq}
            )
        await _forge_after(session, 9, 10)
        await session.execute(text("UPDATE audit_head SET seq = seq + 1"))
    result = await _verify(client, world)
    assert (result["ok"], result["first_bad_seq"]) == (False, 11)


async def test_an_event_appended_outside_the_service_is_named(world, database, trail):
    # Checked at the service level: an event forged past the head takes the position the next
    # audited request needs, so every audited request now fails — itself a loud alarm.
    async with database.transaction() as session:
        last = await _last_seq(session)
        await _forge_after(session, last, last + 1)
    async with database.transaction() as session:
        result = await verify_chain(session)
    assert (result.ok, result.first_bad_seq) == (False, last + 1)
    assert "outside the service" in (result.problem or "")


async def test_reordered_events_are_named(client, world, database, trail):
    await _tamper(
        database,
        "UPDATE audit_event SET seq = -1 WHERE seq = 15",
        "UPDATE audit_event SET seq = 15 WHERE seq = 16",
        "UPDATE audit_event SET seq = 16 WHERE seq = -1",
    )
    result = await _verify(client, world)
    assert (result["ok"], result["first_bad_seq"]) == (False, 15)


async def test_a_truncated_tail_is_named(client, world, database, trail):
    await _tamper(database, f"DELETE FROM audit_event WHERE seq > {trail - 3}")
    result = await _verify(client, world)
    assert (result["ok"], result["first_bad_seq"]) == (False, trail - 2)
    assert "truncated" in result["problem"]


async def test_truncation_with_a_rewritten_head_is_caught_by_a_checkpoint(app, world, database, trail):
    async with database.transaction() as session:
        made = await checkpoints.create(session, app.state.tokens.keys)
        kept_elsewhere = checkpoints.exported(made)
        new_tail = (await session.execute(text(f"SELECT hash FROM audit_event WHERE seq = {trail - 3}"))).scalar_one()
    await _tamper(
        database,
        f"DELETE FROM audit_event WHERE seq > {trail - 3}",
        f"UPDATE audit_head SET seq = {trail - 3}, hash = '{new_tail}'",
    )
    async with database.transaction() as session:
        result = await verify_chain(session)
        assert result.ok, "the chain alone cannot see a truncation that also rewrote the head"
        result = await checkpoints.verify_against(session, result, kept_elsewhere, app.state.tokens.keys)
    assert (result.ok, result.first_bad_seq) == (False, made.seq)
    assert "no longer in the trail" in (result.problem or "")


async def test_a_wholesale_rewrite_is_caught_by_a_checkpoint(app, world, database, trail):
    async with database.transaction() as session:
        made = await checkpoints.create(session, app.state.tokens.keys)
        kept_elsewhere = checkpoints.exported(made)
    async with database.transaction() as session:
        await _superuser(session)
        await session.execute(text("UPDATE audit_event SET reason = 'rewritten' WHERE seq = 3"))
        rows = (await session.execute(select(AuditEvent).order_by(AuditEvent.seq))).scalars().all()
        links = []
        previous = "0" * 64
        for row in rows:
            new_hash = event_hash(previous, {name: getattr(row, name) for name in HASHED_FIELDS})
            links.append((row.seq, previous, new_hash))
            previous = new_hash
        session.expunge_all()
        for seq, prev_hash, new_hash in links:
            await session.execute(
                text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev_hash, "h": new_hash, "s": seq},
            )
        await session.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": links[-1][0], "h": previous})
    async with database.transaction() as session:
        result = await verify_chain(session)
        assert result.ok
        result = await checkpoints.verify_against(session, result, kept_elsewhere, app.state.tokens.keys)
    assert (result.ok, result.first_bad_seq) == (False, made.seq)
    assert "rewritten" in (result.problem or "")


_FIELD_VALUES = {
    "seq": st.integers(1, 10**9),
    "actor_id": st.text(max_size=20),
    "reason": st.text(max_size=40),
    "action": st.text(max_size=20),
    "decision": st.sampled_from(["allow", "deny"]),
    "break_glass": st.booleans(),
    "purpose": st.none() | st.text(max_size=10),
}


@hypothesis_settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(sorted(_FIELD_VALUES)), data=st.data())
def test_changing_any_hashed_field_changes_the_hash(field, data):
    base = {name: None for name in HASHED_FIELDS} | {
        "seq": 1,
        "actor_roles": [],
        "break_glass": False,
        "actor_id": "u",
        "reason": "r",
        "action": "a",
        "decision": "allow",
    }
    value = data.draw(_FIELD_VALUES[field].filter(lambda v: v != base[field]))
    assert event_hash("0" * 64, base) != event_hash("0" * 64, {**base, field: value})
