"""The audit trail is one hash chain: gap-free positions, each event linked to the one before."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from service.access.principal import Principal, PrincipalKind
from service.access.vocabulary import Role
from service.audit.chain import HASHED_FIELDS, event_hash
from service.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from service.audit.service import AuditRecord
from tests.audit.linked import record_linked

OFFICER = Principal(
    id=str(uuid.uuid4()),
    kind=PrincipalKind.user,
    roles=frozenset({Role.cp_officer, Role.auditor}),
    organisation_id=uuid.uuid4(),
)


def _entry(n: int, **change) -> AuditRecord:
    return AuditRecord(
        actor=OFFICER,
        action="child.read",
        decision="allow" if n % 3 else "deny",
        reason=f"reason {n} — причина",
        resource_type="child",
        resource_id=str(uuid.uuid4()),
        child_id=uuid.uuid4(),
        purpose="child_protection",
        basis="legal_obligation",
        **change,
    )


async def _all_events(database) -> list[AuditEvent]:
    async with database.transaction() as session:
        return list((await session.execute(select(AuditEvent).order_by(AuditEvent.seq))).scalars())  # type: ignore[arg-type]


def _fields(event: AuditEvent) -> dict:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def assert_chain_intact(events: list[AuditEvent]) -> None:
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    prev = GENESIS_HASH
    for event in events:
        assert event.prev_hash == prev, event.seq
        assert event.hash == event_hash(event.prev_hash, _fields(event)), event.seq
        prev = event.hash


async def test_recorded_events_form_an_intact_chain_from_the_genesis_hash(database):
    seqs = []
    for n in range(5):
        async with database.transaction() as session:
            seqs.append((await record_linked(session, _entry(n)))[0])
    async with database.transaction() as session:
        seqs.extend(await record_linked(session, *[_entry(n) for n in range(5, 12)]))
        seqs.append(
            (await record_linked(session, _entry(12, break_glass=True, break_glass_reason="x" * 30)))[0]
        )

    events = await _all_events(database)
    assert seqs == [e.seq for e in events[-13:]]
    assert seqs == list(range(seqs[0], seqs[0] + 13))
    assert events[0].prev_hash == "0" * 64
    assert_chain_intact(events)

    async with database.transaction() as session:
        head = await session.get(AuditHead, 1)
    assert head is not None
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)


async def test_stored_fields_are_the_ones_recorded(database):
    occurred = datetime(2026, 11, 23, 8, 30, 15, 123456, tzinfo=UTC)
    entry = _entry(1, occurred_at=occurred, consent_id=uuid.uuid4())
    async with database.transaction() as session:
        seq = (await record_linked(session, entry))[0]
    async with database.transaction() as session:
        event = await session.get(AuditEvent, seq)
    assert event is not None
    assert event.occurred_at == occurred
    assert event.actor_id == OFFICER.id
    assert event.actor_kind == "user"
    assert event.actor_organisation_id == OFFICER.organisation_id
    assert event.actor_roles == ["auditor", "cp_officer"]
    assert (event.child_id, event.consent_id, event.resource_id) == (
        entry.child_id,
        entry.consent_id,
        entry.resource_id,
    )
    assert event.reason == entry.reason


async def test_changing_any_hashed_field_changes_the_hash(database):
    async with database.transaction() as session:
        seq = (await record_linked(session, _entry(1)))[0]
    async with database.transaction() as session:
        event = await session.get(AuditEvent, seq)
    assert event is not None
    fields = _fields(event)
    tampered_values = {
        "seq": event.seq + 1,
        "occurred_at": datetime(2000, 1, 1, tzinfo=UTC),
        "actor_id": "someone",
        "actor_roles": ["admin"],
        "decision": "deny" if event.decision == "allow" else "allow",
        "reason": "other",
        "child_id": uuid.uuid4(),
        "break_glass": True,
        "purpose": "audit",
    }
    for name, value in tampered_values.items():
        assert event_hash(event.prev_hash, {**fields, name: value}) != event.hash, name
    assert event_hash("f" * 64, fields) != event.hash


async def test_a_rolled_back_append_leaves_no_gap(database):
    async with database.transaction() as session:
        first = (await record_linked(session, _entry(1)))[0]

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with database.transaction() as session:
            await record_linked(session, _entry(2), _entry(3))
            raise Boom

    async with database.transaction() as session:
        after = (await record_linked(session, _entry(4)))[0]

    assert after == first + 1
    assert_chain_intact(await _all_events(database))


async def test_events_recorded_by_requests_chain_with_the_rest(client, world, database):
    cp = await world.headers("cp-kazanlak.cp")
    await client.get("/api/v1/me", headers=cp)
    await client.get("/api/v1/organisations", headers=cp)  # a denial, in its own transaction
    await client.get("/api/v1/inbox", headers=cp)
    events = await _all_events(database)
    assert any(e.decision == "deny" for e in events)
    assert_chain_intact(events)
