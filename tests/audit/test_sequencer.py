"""The audit sequencer on PostgreSQL: requests record events without waiting for one another,
and the sequencer links them into one intact chain, one linker at a time, losing nothing when a
linker or a request dies."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlmodel import col

from service.access.principal import Principal, PrincipalKind
from service.access.vocabulary import Role
from service.audit import sequencer
from service.audit.models import AuditEvent, AuditHead, AuditPending, BreakGlassReview
from service.audit.service import AuditRecord, record, record_many
from service.audit.verify import verify_chain
from service.core.database import Database, create_engine
from tests.audit.test_chain import assert_chain_intact
from tests.conftest import asgi_client, make_app

pytestmark = pytest.mark.postgres_only

OFFICER = Principal(
    id="officer-1", kind=PrincipalKind.user, roles=frozenset({Role.cp_officer}), organisation_id=uuid.uuid4()
)


def _entry(n: int, **overrides: object) -> AuditRecord:
    fields: dict[str, object] = {
        "actor": OFFICER,
        "action": "alert.read",
        "decision": "allow",
        "reason": f"read {n}",
        "resource_type": "alert",
        "resource_id": str(uuid.uuid4()),
        "child_id": uuid.uuid4(),
    }
    return AuditRecord(**{**fields, **overrides})  # type: ignore[arg-type]


async def _counts(database: Database) -> tuple[int, int]:
    async with database.transaction() as session:
        linked = (await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one()
        pending = (await session.execute(select(func.count()).select_from(AuditPending))).scalar_one()
    return linked, pending


async def _events(database: Database) -> list[AuditEvent]:
    async with database.transaction() as session:
        return list((await session.execute(select(AuditEvent).order_by(col(AuditEvent.seq)))).scalars())


async def test_requests_record_without_waiting_for_each_other_and_the_sequencer_links_them_all(
    committed_database: Database,
):
    assert not committed_database.link_in_request
    async with committed_database.engine.connect() as holder:
        # one request records and stays open; another records and commits at once, though a
        # lock_timeout would fail it if it had to wait for the first
        first = await holder.begin()
        await holder.execute(text("SELECT 1"))
        async with committed_database.transaction() as session:
            await record(session, _entry(0))
        async with committed_database.transaction() as session:
            await session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            await record_many(session, [_entry(n) for n in range(1, 6)])
        await first.rollback()

    assert await _counts(committed_database) == (0, 6)
    assert await sequencer.link_committed(committed_database) == 6
    assert await _counts(committed_database) == (6, 0)
    events = await _events(committed_database)
    assert [e.reason for e in events] == [f"read {n}" for n in range(6)]
    assert_chain_intact(events)


async def test_concurrent_writers_end_in_one_intact_chain_with_every_event(committed_database: Database):
    async def writer(w: int) -> None:
        for n in range(10):
            async with committed_database.transaction() as session:
                await record_many(session, [_entry(w * 100 + n), _entry(w * 100 + n, action="alert.update")])

    linker = asyncio.create_task(sequencer.run(committed_database, interval=0.01))
    try:
        await asyncio.gather(*(writer(w) for w in range(8)))
        for _ in range(200):
            if (await _counts(committed_database))[1] == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        linker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await linker

    events = await _events(committed_database)
    assert len(events) == 160
    assert sorted(e.reason for e in events) == sorted(2 * [f"read {w * 100 + n}" for w in range(8) for n in range(10)])
    assert_chain_intact(events)
    async with committed_database.transaction() as session:
        result = await verify_chain(session)
    assert result.ok, result.as_dict()
    assert (result.checked, result.unlinked, result.oldest_unlinked_seconds) == (160, 0, None)


async def test_one_linker_at_a_time_and_another_takes_over_when_it_dies(committed_database: Database):
    async with committed_database.transaction() as session:
        await record_many(session, [_entry(n) for n in range(3)])
    async with committed_database.engine.connect() as dying:
        # a linker holds the lock mid-batch...
        await dying.begin()
        await dying.execute(text(f"SELECT pg_advisory_xact_lock({sequencer.ADVISORY_LOCK})"))
        # ...so another process's turn links nothing and does not wait
        assert await asyncio.wait_for(sequencer.link_committed(committed_database), 5) == 0
        assert await _counts(committed_database) == (0, 3)
        # the holder dies: its connection goes, and with it the lock
        await dying.invalidate()
    assert await sequencer.link_committed(committed_database) == 3
    assert_chain_intact(await _events(committed_database))


async def test_a_linker_killed_between_insert_and_commit_loses_nothing(committed_database: Database):
    async with committed_database.transaction() as session:
        await record_many(session, [_entry(n) for n in range(4)])

    class Killed(Exception):
        pass

    with pytest.raises(Killed):
        async with committed_database.transaction() as session:
            assert await sequencer._link_batch(session) == 4
            raise Killed  # the linker's transaction never commits

    assert await _counts(committed_database) == (0, 4)
    # a restarted service (a new engine, as after a crash) links them
    restarted = Database(create_engine(committed_database.engine.url.render_as_string(hide_password=False)))
    try:
        assert await sequencer.link_committed(restarted) == 4
    finally:
        await restarted.dispose()
    assert await _counts(committed_database) == (4, 0)
    assert_chain_intact(await _events(committed_database))


async def test_a_rolled_back_request_leaves_nothing_to_link(committed_database: Database):
    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with committed_database.transaction() as session:
            await record(session, _entry(1))
            raise Refused
    async with committed_database.transaction() as session:
        await record(session, _entry(2))
    assert await sequencer.link_committed(committed_database) == 1
    assert [e.reason for e in await _events(committed_database)] == ["read 2"]


async def test_verification_reports_what_waits_to_be_linked(committed_database: Database):
    async with committed_database.transaction() as session:
        await record(session, _entry(1))
    await sequencer.link_committed(committed_database)
    async with committed_database.transaction() as session:
        await record_many(session, [_entry(2), _entry(3)])
    await asyncio.sleep(0.05)
    async with committed_database.transaction() as session:
        waiting = await verify_chain(session)
    assert waiting.ok and waiting.checked == 1
    assert waiting.unlinked == 2
    assert waiting.oldest_unlinked_seconds is not None and waiting.oldest_unlinked_seconds >= 0.05

    await sequencer.link_committed(committed_database)
    async with committed_database.transaction() as session:
        linked = await verify_chain(session)
    assert (linked.ok, linked.checked, linked.unlinked, linked.oldest_unlinked_seconds) == (True, 3, 0, None)


async def test_an_emergency_access_reaches_the_review_queue_with_its_linked_event(committed_database: Database):
    child = uuid.uuid4()
    async with committed_database.transaction() as session:
        await record(session, _entry(0))
        await record(
            session,
            _entry(
                1, child_id=child, break_glass=True, break_glass_reason="Дете в опасност, няма връзка с майката",
                for_review=True,
            ),
        )
    async with committed_database.transaction() as session:
        review = (await session.execute(select(BreakGlassReview))).scalar_one()
        assert (review.child_id, review.audit_seq) == (child, None)

    await sequencer.link_committed(committed_database)
    async with committed_database.transaction() as session:
        review = (await session.execute(select(BreakGlassReview))).scalar_one()
        event = await session.get(AuditEvent, review.audit_seq)
    assert event is not None and event.break_glass and event.child_id == child
    assert event.seq == 2


async def test_a_forged_event_in_the_next_position_stops_linking_and_loses_nothing(committed_database: Database):
    async with committed_database.transaction() as session:
        await record(session, _entry(1))
    await sequencer.link_committed(committed_database)
    async with committed_database.transaction() as session:
        head = await session.get(AuditHead, 1)
        assert head is not None and head.seq == 1
        # someone with database access appends an event of their own after the head
        await session.execute(
            text(
                "INSERT INTO audit_event (seq, occurred_at, actor_id, actor_kind, actor_roles, action, decision, "
                "reason, break_glass, prev_hash, hash) VALUES (2, now(), 'x', 'user', '[]', 'forged', 'allow', "
                "'forged', false, :prev, :hash)"
            ),
            {"prev": head.hash, "hash": "f" * 64},
        )
        await record(session, _entry(2))

    with pytest.raises(Exception, match="duplicate key|unique"):
        await sequencer.link_committed(committed_database)
    assert await _counts(committed_database) == (2, 1)  # the real event still waits
    async with committed_database.transaction() as session:
        result = await verify_chain(session)
    assert not result.ok and result.first_bad_seq == 2
    assert result.unlinked == 1


async def test_metrics_expose_the_backlog_and_the_linking_lag(committed_database: Database, settings):
    async with committed_database.transaction() as session:
        await record_many(session, [_entry(1), _entry(2)])
    linked_before = sequencer.LINK_LAG.collect()[0].samples
    await sequencer.link_committed(committed_database)
    async with committed_database.transaction() as session:
        await record(session, _entry(3))
    await sequencer._publish_backlog(committed_database)

    async with asgi_client(make_app(settings, committed_database)) as client:
        metrics = (await client.get("/metrics")).text
    assert "obhvat_audit_unlinked_events 1.0" in metrics
    assert "obhvat_audit_oldest_unlinked_seconds" in metrics
    count = next(s.value for s in sequencer.LINK_LAG.collect()[0].samples if s.name.endswith("_count"))
    before = next((s.value for s in linked_before if s.name.endswith("_count")), 0.0)
    assert count - before == 2
    assert f"obhvat_audit_link_lag_seconds_count {count}" in metrics
