"""Migration 0010 moves break-glass reasons out of the review queue into the erasable table, and
an existing chain (with a reason written into it before) still verifies, unchanged."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from service.audit import free_text
from service.audit.models import GENESIS_HASH
from service.audit.verify import verify_chain
from service.core.migrations import downgrade, upgrade
from tests.test_migrations import FreshDatabase, fresh_database  # noqa: F401 (the fixture)

REASON = "Зографски Иван, ЕГН 1152035081: спешно по сигнал."
_LEGACY_FIELDS = {
    "seq": 1, "occurred_at": "2026-11-23T10:00:00.000000Z", "actor_id": "u-1", "actor_kind": "user",
    "actor_organisation_id": None, "actor_roles": ["police_officer"], "action": "child.history.read",
    "resource_type": "child", "resource_id": None, "child_id": None, "purpose": "emergency",
    "basis": "public_task", "consent_id": None, "decision": "allow", "reason": "break-glass emergency access",
    "break_glass": True, "break_glass_reason": REASON, "request_id": None, "client_address": None,
}


def _legacy_hash() -> str:
    """The hash as the service computed it before 0011: the reason's text in the canonical JSON."""
    canonical = json.dumps(_LEGACY_FIELDS, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((GENESIS_HASH + canonical).encode("utf-8")).hexdigest()


def _stored_time(db: FreshDatabase) -> str:
    """2026-11-23 10:00 UTC as the service stores it (SQLite: text without a zone)."""
    return "2026-11-23 10:00:00.000000" if db.engine == "sqlite" else "2026-11-23 10:00:00+00:00"


def _stored_uuid(db: FreshDatabase) -> str:
    return uuid.uuid4().hex if db.engine == "sqlite" else str(uuid.uuid4())


def _seed_legacy_break_glass(db: FreshDatabase) -> None:
    mark = "?" if db.engine == "sqlite" else "%s"
    legacy_hash = _legacy_hash()
    db.query(
        "INSERT INTO audit_event (seq, occurred_at, actor_id, actor_kind, actor_roles, action, resource_type, "
        "purpose, basis, decision, reason, break_glass, break_glass_reason, prev_hash, hash) "
        f"VALUES ({', '.join([mark] * 15)})",
        (1, _stored_time(db), "u-1", "user", '["police_officer"]', "child.history.read",
         "child", "emergency", "public_task", "allow", "break-glass emergency access", True, REASON,
         GENESIS_HASH, legacy_hash),
    )
    db.query(f"UPDATE audit_head SET seq = 1, hash = {mark} WHERE id = 1", (legacy_hash,))
    db.query(
        "INSERT INTO break_glass_review (id, audit_seq, actor_id, child_id, reason, accessed_at) "
        f"VALUES ({', '.join([mark] * 6)})",
        (_stored_uuid(db), 1, "u-1", _stored_uuid(db), REASON, _stored_time(db)),
    )


def _verified(db: FreshDatabase) -> bool:
    async def verify() -> bool:
        engine = create_async_engine(db.url)
        try:
            async with AsyncSession(engine) as session:
                return (await verify_chain(session)).ok
        finally:
            await engine.dispose()

    return asyncio.run(verify())  # alembic runs its own event loop too, so this test is synchronous


def test_the_migration_moves_the_reviews_reason_out_and_the_old_chain_still_verifies(fresh_database):  # noqa: F811
    db = fresh_database
    upgrade(db.url, "0010")
    _seed_legacy_break_glass(db)  # hashed as the service did before 0011

    upgrade(db.url)

    assert _verified(db)
    [(sha256, salt, kept)] = db.query("SELECT sha256, salt, text FROM audit_free_text")
    assert kept == REASON and free_text.digest(salt, REASON) == sha256
    assert db.query("SELECT reason_sha256 FROM break_glass_review") == [(sha256,)]
    assert db.query("SELECT hash FROM audit_event") == [(_legacy_hash(),)]

    downgrade(db.url, "0010")
    assert db.query("SELECT reason FROM break_glass_review") == [(REASON,)]
