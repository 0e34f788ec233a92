"""An auditor detects each way of tampering with the trail, naming the first bad event.

Each test builds a trail (the demo load records a few dozen events), then does what a database
superuser could: switch the append-only triggers off and change the table directly. All of it
happens inside the test's transaction, which is rolled back afterwards, so the triggers come back.
The auditor then asks `GET /api/v1/audit/verify` and must be told that the trail is broken and
exactly which event is the first bad one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text

from service.access.principal import Principal, PrincipalKind
from service.access.vocabulary import Role
from service.audit.chain import HASHED_FIELDS, POSTGRES_CANONICAL_JSON, canonical_json, event_hash
from service.audit.models import GENESIS_HASH, AuditEvent
from service.audit.service import AuditRecord, record
from service.audit.verify import Verification, verify_chain
from service.auditor import checkpoints

VERIFY = "/api/v1/audit/verify"
AUDITOR = "rue-lovech.auditor"
_COLUMNS = [getattr(AuditEvent, name) for name in (*HASHED_FIELDS, "prev_hash", "hash")]


# --- what a superuser can do -------------------------------------------------------------------


async def _switch_off_append_only(session) -> None:
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    else:
        await session.execute(text("DROP TRIGGER audit_event_no_update"))
        await session.execute(text("DROP TRIGGER audit_event_no_delete"))


async def _tamper(database, *statements: str, **params) -> None:
    async with database.transaction() as session:
        await _switch_off_append_only(session)
        for statement in statements:
            await session.execute(text(statement), params)


async def _events(database) -> list[dict]:
    """Every event as stored (typed values), in seq order."""
    async with database.transaction() as session:
        rows = await session.execute(select(*_COLUMNS).order_by(AuditEvent.seq))  # type: ignore[arg-type]
        return [dict(row) for row in rows.mappings()]


async def _last_seq(database) -> int:
    async with database.transaction() as session:
        return int((await session.execute(select(func.max(AuditEvent.seq)))).scalar_one())


def _forged(after: dict, seq: int) -> dict:
    """A correctly hashed event at `seq`, linked to `after`: self-consistent on its own."""
    fields = {name: after[name] for name in HASHED_FIELDS} | {
        "seq": seq,
        "action": "child.read",
        "reason": "forged: nothing to see here",
    }
    return {**fields, "prev_hash": after["hash"], "hash": event_hash(after["hash"], fields)}


# --- what the auditor sees ---------------------------------------------------------------------


async def _verify(client, world) -> dict:
    response = await client.get(VERIFY, headers=await world.headers(AUDITOR))
    assert response.status_code == 200, response.text
    return response.json()


def _broken_at(result: dict, seq: int, *words: str) -> None:
    assert result["ok"] is False, result
    assert result["first_bad_seq"] == seq, result
    for word in words:
        assert word in result["problem"], result


@pytest.fixture
async def trail(world, database) -> int:
    """The demo load's trail (a few dozen events); returns the last event's number."""
    last = await _last_seq(database)
    assert last >= 30
    return last


async def _checkpoint(app, database) -> tuple[int, dict]:
    """Sign the head now and export the checkpoint, as an operator keeps it outside the database."""
    async with database.transaction() as session:
        made = await checkpoints.create(session, app.state.tokens.keys)
        assert made is not None
        return made.seq, checkpoints.exported(made)


async def _against_checkpoint(app, database, kept_elsewhere: dict) -> tuple[Verification, Verification]:
    """The chain alone, and then the chain checked against the kept checkpoint."""
    async with database.transaction() as session:
        chain = await verify_chain(session)
        alone = Verification(**{**chain.__dict__, "head": dict(chain.head)})
        against = await checkpoints.verify_against(session, chain, kept_elsewhere, app.state.tokens.keys)
    return alone, against


# --- an intact trail ---------------------------------------------------------------------------


async def test_an_intact_trail_verifies_with_every_event_checked(client, world, database, trail):
    events = await _events(database)

    result = await _verify(client, world)

    assert result["ok"] is True
    assert result["first_bad_seq"] is None and result["problem"] is None
    assert result["checked"] == len(events) == trail
    assert result["head"] == {"seq": events[-1]["seq"], "hash": events[-1]["hash"]}
    assert events[0]["prev_hash"] == GENESIS_HASH


async def test_verifying_is_itself_audited_and_says_whether_the_chain_held(client, world, database, trail):
    await _verify(client, world)
    await _tamper(database, "UPDATE audit_event SET reason = 'nothing to see' WHERE seq = 7")
    await _verify(client, world)

    verifications = [e for e in await _events(database) if e["reason"].startswith("audit chain verified")]
    assert [e["reason"] for e in verifications] == ["audit chain verified: intact", "audit chain verified: broken"]
    me = (await client.get("/api/v1/me", headers=await world.headers(AUDITOR))).json()
    assert {(e["actor_id"], e["action"], e["purpose"]) for e in verifications} == {(me["id"], "audit.read", "audit")}


# --- each way of tampering ---------------------------------------------------------------------


async def test_a_changed_field_names_that_event(client, world, database, trail):
    await _tamper(database, "UPDATE audit_event SET reason = 'nothing to see' WHERE seq = 12")

    _broken_at(await _verify(client, world), 12, "changed")


async def test_a_changed_decision_names_that_event(client, world, database, trail):
    await _tamper(database, "UPDATE audit_event SET decision = 'deny' WHERE seq = 20")

    _broken_at(await _verify(client, world), 20, "changed")


async def test_a_deleted_event_in_the_middle_is_named(client, world, database, trail):
    await _tamper(database, "DELETE FROM audit_event WHERE seq = 9")

    _broken_at(await _verify(client, world), 9, "missing")


async def test_an_inserted_event_breaks_the_link_of_the_event_after_it(client, world, database, trail):
    k = 10
    before = {e["seq"]: e for e in await _events(database)}
    async with database.transaction() as session:
        await _switch_off_append_only(session)
        # make room at k: move k.. one up, from the highest down (seq is the primary key)
        for seq in range(trail, k - 1, -1):
            await session.execute(
                text("UPDATE audit_event SET seq = :new WHERE seq = :old"), {"new": seq + 1, "old": seq}
            )
        await session.execute(insert(AuditEvent).values(**_forged(before[k - 1], k)))
        await session.execute(text("UPDATE audit_head SET seq = seq + 1"))

    result = await _verify(client, world)

    # The forged event k is self-consistent: it links to event k-1 and its hash matches its
    # contents, so nothing is wrong with it on its own. Its successor, the original event k now
    # at k+1, still carries the link to the original k-1 — which no longer precedes it — so the
    # first bad event the auditor is shown is k+1.
    _broken_at(result, k + 1, "link")


async def test_an_event_appended_past_the_head_is_named(client, world, database, trail):
    last = (await _events(database))[-1]
    assert last["seq"] == trail
    async with database.transaction() as session:  # an INSERT needs no trigger switched off
        await session.execute(insert(AuditEvent).values(**_forged(last, trail + 1)))

    result = await _verify(client, world)

    # correctly linked to the last event, but the head (seq and hash) was not moved
    _broken_at(result, trail + 1, "outside the service")
    assert result["head"]["seq"] == trail
    assert result["checked"] == trail + 1


async def test_two_swapped_neighbours_name_the_lower_one(client, world, database, trail):
    await _tamper(
        database,
        "UPDATE audit_event SET seq = -1 WHERE seq = 15",
        "UPDATE audit_event SET seq = 15 WHERE seq = 16",
        "UPDATE audit_event SET seq = 16 WHERE seq = -1",
    )

    _broken_at(await _verify(client, world), 15)


async def test_a_truncated_tail_names_the_first_missing_event(client, world, database, trail):
    await _tamper(database, "DELETE FROM audit_event WHERE seq > :keep", keep=trail - 3)

    result = await _verify(client, world)

    _broken_at(result, trail - 2, "truncated")
    assert result["checked"] == trail - 3
    assert result["head"]["seq"] == trail


async def test_truncation_that_also_rewrote_the_head_is_caught_only_by_a_checkpoint(
    app, client, world, database, trail
):
    made_at, kept_elsewhere = await _checkpoint(app, database)
    assert made_at == trail
    _, against = await _against_checkpoint(app, database, kept_elsewhere)
    assert against.ok, "an untouched trail agrees with its checkpoint"

    new_tail = (await _events(database))[-4]
    await _tamper(
        database,
        "DELETE FROM audit_event WHERE seq > :keep",
        "UPDATE audit_head SET seq = :keep, hash = :hash",
        keep=new_tail["seq"],
        hash=new_tail["hash"],
    )

    alone, against = await _against_checkpoint(app, database, kept_elsewhere)
    assert alone.ok, "the chain alone cannot see a truncation that also rewrote the head"
    assert (against.ok, against.first_bad_seq) == (False, made_at)
    assert "no longer in the trail" in (against.problem or "")

    result = await _verify(client, world)
    assert result["ok"] is True and result["head"]["seq"] == trail - 3


async def test_a_wholesale_rewrite_is_caught_only_by_a_checkpoint(app, client, world, database, trail):
    made_at, kept_elsewhere = await _checkpoint(app, database)

    async with database.transaction() as session:
        await _switch_off_append_only(session)
        await session.execute(text("UPDATE audit_event SET reason = 'rewritten' WHERE seq = 3"))
        rows = [dict(r) for r in (await session.execute(select(*_COLUMNS).order_by(AuditEvent.seq))).mappings()]  # type: ignore[arg-type]
        previous = GENESIS_HASH
        for row in rows:
            new_hash = event_hash(previous, row)
            await session.execute(
                text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": previous, "h": new_hash, "s": row["seq"]},
            )
            previous = new_hash
        await session.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": rows[-1]["seq"], "h": previous})

    result = await _verify(client, world)
    assert result["ok"] is True, "a consistent rewrite fools the chain alone"

    alone, against = await _against_checkpoint(app, database, kept_elsewhere)
    assert alone.ok
    assert (against.ok, against.first_bad_seq) == (False, made_at)
    assert "rewritten" in (against.problem or "")


async def test_a_checkpoint_with_a_forged_signature_is_refused(app, database, trail):
    _, kept_elsewhere = await _checkpoint(app, database)
    header, payload, signature = kept_elsewhere["signature"].split(".")
    tampered = {**kept_elsewhere, "signature": f"{header}.{payload}.{signature[:-4]}AAAA"}

    _, against = await _against_checkpoint(app, database, tampered)

    assert against.ok is False
    assert "signature" in (against.problem or "")


# --- the hash itself (pure, no database) -------------------------------------------------------

_TEXT = st.text(max_size=30)
_FIELD_STRATEGIES: dict[str, st.SearchStrategy] = {
    "seq": st.integers(1, 10**12),
    "occurred_at": st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    "actor_id": _TEXT,
    "actor_kind": st.sampled_from(["user", "client", "system"]),
    "actor_organisation_id": st.none() | st.uuids(),
    "actor_roles": st.lists(st.sampled_from([r.value for r in Role]), unique=True).map(sorted),
    "action": _TEXT,
    "resource_type": st.none() | _TEXT,
    "resource_id": st.none() | _TEXT,
    "child_id": st.none() | st.uuids(),
    "purpose": st.none() | _TEXT,
    "basis": st.none() | _TEXT,
    "consent_id": st.none() | st.uuids(),
    "decision": st.sampled_from(["allow", "deny"]),
    "reason": _TEXT,
    "break_glass": st.booleans(),
    "break_glass_reason": st.none() | _TEXT,
    "break_glass_reason_sha256": st.none() | st.text("0123456789abcdef", min_size=64, max_size=64),
    "request_id": st.none() | _TEXT,
    "client_address": st.none() | _TEXT,
}


def test_the_property_strategies_cover_every_hashed_field():
    assert set(_FIELD_STRATEGIES) == set(HASHED_FIELDS)


def _chain(events: list[dict]) -> list[str]:
    hashes, previous = [], GENESIS_HASH
    for event in events:
        previous = event_hash(previous, event)
        hashes.append(previous)
    return hashes


@hypothesis_settings(max_examples=25, deadline=None)
@given(
    events=st.lists(st.fixed_dictionaries(_FIELD_STRATEGIES), min_size=1, max_size=6),
    field=st.sampled_from(HASHED_FIELDS),
    data=st.data(),
)
def test_changing_any_hashed_field_of_any_event_changes_its_hash_and_every_later_one(events, field, data):
    original = _chain(events)
    k = data.draw(st.integers(0, len(events) - 1), label="event")
    value = data.draw(_FIELD_STRATEGIES[field].filter(lambda v: v != events[k][field]), label="new value")
    tampered = [*events[:k], {**events[k], field: value}, *events[k + 1 :]]

    recomputed = _chain(tampered)

    assert recomputed[:k] == original[:k]
    previous = original[k - 1] if k else GENESIS_HASH
    assert event_hash(previous, tampered[k]) != original[k]
    assert all(new != old for new, old in zip(recomputed[k:], original[k:], strict=True))


@hypothesis_settings(max_examples=25, deadline=None)
@given(event=st.fixed_dictionaries(_FIELD_STRATEGIES), other=st.text("0123456789abcdef", min_size=64, max_size=64))
def test_the_link_to_the_previous_event_is_part_of_the_hash(event, other):
    if other == GENESIS_HASH:
        other = "f" * 64
    assert event_hash(GENESIS_HASH, event) != event_hash(other, event)


def test_an_event_hash_is_stable_for_equal_values():
    """Typed values as either engine returns them hash alike: a naive time is UTC, a UUID its text."""
    fields = {name: None for name in HASHED_FIELDS} | {
        "seq": 1,
        "occurred_at": datetime(2026, 11, 23, 8, 30, tzinfo=UTC),
        "actor_roles": [],
        "break_glass": False,
        "child_id": uuid.UUID(int=1),
    }
    naive = {**fields, "occurred_at": datetime(2026, 11, 23, 8, 30)}
    assert event_hash(GENESIS_HASH, fields) == event_hash(GENESIS_HASH, naive)


# --- the PostgreSQL canonical form used to verify fast --------------------------------------------

_AWKWARD_TEXTS = [
    'кавички " и \\ обратна черта',
    "tab\tnew line\ncarriage\rbell\x07 unit\x1f del\x7f",
    "mixed Cyrillic а and Latin a, emoji 🙂, line separator \u2028",
    "",
]


async def test_postgres_builds_exactly_the_canonical_json_python_hashes(engine_name, database):
    """Verification on PostgreSQL hashes the form the database builds; for it to be worth
    anything it must be byte for byte the form the events were hashed over."""
    if engine_name == "sqlite":
        pytest.skip("SQLite verifies with the Python form only")
    async with database.transaction() as session:
        await session.execute(text("SET LOCAL timezone = 'Asia/Kathmandu'"))  # +05:45: a wrong offset shows
        for n, reason in enumerate(_AWKWARD_TEXTS):
            await record(
                session,
                AuditRecord(
                    actor=Principal(
                        id=f"user-{n}", kind=PrincipalKind.user,
                        roles=frozenset({Role.cp_officer, Role.auditor}) if n % 2 else frozenset(),
                        organisation_id=None if n == 3 else uuid.uuid4(),
                    ),
                    action="child.read", decision="allow", reason=reason or "-", resource_type="child",
                    resource_id=reason or None, child_id=uuid.uuid4(), purpose=None, basis="consent",
                    break_glass=n == 1, break_glass_reason=reason if n == 1 else None,
                ),
            )
        rows = (
            await session.execute(
                text(f"SELECT {', '.join(HASHED_FIELDS)}, {POSTGRES_CANONICAL_JSON} AS canonical FROM audit_event")  # noqa: S608
            )
        ).mappings().all()
    assert len(rows) >= len(_AWKWARD_TEXTS)
    for row in rows:
        assert row["canonical"].encode("utf-8") == canonical_json(dict(row)), row["seq"]


def _json(engine_name: str, literal: str) -> str:
    """A JSON literal in SQL: PostgreSQL needs the cast; SQLite would turn a cast into a number."""
    return f"CAST('{literal}' AS JSON)" if engine_name == "postgresql" else f"'{literal}'"


async def test_an_intact_event_the_fast_form_cannot_express_still_verifies(
    client, world, database, trail, engine_name
):
    """`1e2` in a stored JSON array reads back in Python as 100.0 but PostgreSQL prints it as
    100: the fast form disagrees with the authority, so the event is judged in Python, where it
    holds (this last event was rewritten consistently, head included)."""
    last = (await _events(database))[-1]
    fields = {name: last[name] for name in HASHED_FIELDS} | {"actor_roles": [100.0]}
    rehashed = event_hash(last["prev_hash"], fields)
    await _tamper(
        database,
        f"UPDATE audit_event SET actor_roles = {_json(engine_name, '[1e2]')}, hash = :hash WHERE seq = :seq",
        "UPDATE audit_head SET hash = :hash",
        hash=rehashed,
        seq=last["seq"],
    )

    result = await _verify(client, world)
    assert result["ok"] is True, result
    assert result["checked"] >= last["seq"]


async def test_roles_changed_to_something_the_fast_form_cannot_express_are_named(
    client, world, database, trail, engine_name
):
    roles = _json(engine_name, '[{"x": 1}]')
    await _tamper(database, f"UPDATE audit_event SET actor_roles = {roles} WHERE seq = 7")

    _broken_at(await _verify(client, world), 7, "changed")
