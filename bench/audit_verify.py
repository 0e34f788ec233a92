"""Audit chain verification (`verify_chain`, as `obhvat audit verify` runs it: read the trail
from PostgreSQL in batches, rebuild each event's canonical JSON, hash and compare) against
hashing the very same bytes with hashlib alone, in memory — the floor no verifier can beat."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import time
import uuid

import psycopg

from bench.harness import fresh_database
from service.audit.chain import HASHED_FIELDS, canonical_json, event_hash
from service.core.database import Database, create_engine

TARGET = 0.25
_COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
_ACTIONS = ("read_child", "create_alert", "acknowledge_alert", "read_alert", "lookup_child")
_REASONS = ("routed recipient", "raised by this organisation", "enrolled at this school", "не е свързан с детето")


def _events(start_seq: int, start_hash: str, count: int) -> tuple[list[tuple[object, ...]], list[bytes], str]:
    """`count` realistic events continuing the chain; also the exact bytes each hash covers."""
    rows, hashed_bytes = [], []
    previous = start_hash
    organisation, child = uuid.uuid4(), uuid.uuid4()
    at = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    for i in range(count):
        seq = start_seq + i
        if i % 40 == 0:
            organisation, child = uuid.uuid4(), uuid.uuid4()
        fields: dict[str, object] = {
            "seq": seq,
            "occurred_at": at + datetime.timedelta(milliseconds=37 * i),
            "actor_id": f"user-{i % 997}",
            "actor_kind": "user",
            "actor_organisation_id": organisation,
            "actor_roles": ["child_protection_officer"],
            "action": _ACTIONS[i % len(_ACTIONS)],
            "resource_type": "alert",
            "resource_id": str(uuid.uuid4()),
            "child_id": child,
            "purpose": "child_protection",
            "basis": "legal_obligation",
            "consent_id": None,
            "decision": "allow" if i % 17 else "deny",
            "reason": _REASONS[i % len(_REASONS)],
            "break_glass": False,
            "break_glass_reason": None,
            "break_glass_reason_sha256": None,
            "request_id": uuid.uuid4().hex,
            "client_address": "10.1.2.3",
        }
        hashed_bytes.append(previous.encode("ascii") + canonical_json(fields))
        digest = event_hash(previous, fields)
        rows.append((*(fields[name] for name in HASHED_FIELDS), previous, digest))
        previous = digest
    return rows, hashed_bytes, previous


def _append(url: str, count: int) -> list[bytes]:
    with psycopg.connect(url) as conn:
        head_seq, head_hash = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()  # type: ignore[misc]
        rows, hashed_bytes, last = _events(head_seq + 1, head_hash, count)
        with conn.cursor().copy(f"COPY audit_event ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(v) if isinstance(v, list) else v for v in row])
        conn.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (head_seq + count, last))
    return hashed_bytes


def _hashlib_rate(hashed_bytes: list[bytes]) -> float:
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for data in hashed_bytes:
            hashlib.sha256(data).hexdigest()
        best = max(best, len(hashed_bytes) / (time.perf_counter() - started))
    return best


async def _verify_rate(url: str) -> tuple[float, int, bool]:
    from service.audit.verify import verify_chain

    database = Database(create_engine(url.replace("postgresql://", "postgresql+psycopg://"), pool_size=1))
    try:
        best, checked, ok = 0.0, 0, True
        for _ in range(2):
            async with database.transaction() as session:
                started = time.perf_counter()
                result = await verify_chain(session)
                best = max(best, result.checked / (time.perf_counter() - started))
                checked, ok = result.checked, ok and result.ok
        return best, checked, ok
    finally:
        await database.dispose()


def run(seconds: float) -> dict[str, object]:
    count = 60_000 if seconds < 15 else 300_000
    with fresh_database() as url:
        hashed_bytes = _append(url, count)
        verified, checked, ok = asyncio.run(_verify_rate(url))
    baseline = _hashlib_rate(hashed_bytes)
    ratio = verified / baseline if baseline else 0.0
    return {
        "name": "audit chain verification vs hashlib on the same bytes",
        "value": f"{verified:,.0f} events/s vs {baseline:,.0f} hashes/s",
        "ratio": ratio,
        "target": f"≥ {TARGET}",
        "ok": ok and ratio >= TARGET,
        "detail": f"{checked:,} events read from PostgreSQL in batches; chain {'verified' if ok else 'BROKEN'}",
    }
