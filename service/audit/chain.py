"""Canonical form and hash of an audit event.

`hash = SHA-256(prev_hash || canonical JSON of the event)`, the JSON with sorted keys, no
insignificant white space, UTF-8, times as UTC ISO 8601 with microseconds. Changing any field,
the order of events or the link to the previous event changes some later hash.

An optional field (`OPTIONAL_FIELDS`) is in the JSON only when it has a value, so events recorded
before it existed hash exactly as they did; adding, removing or changing its value still changes
the hash.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

#: The fields covered by the hash, in addition to `prev_hash`.
HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_kind",
    "actor_organisation_id",
    "actor_roles",
    "action",
    "resource_type",
    "resource_id",
    "child_id",
    "purpose",
    "basis",
    "consent_id",
    "decision",
    "reason",
    "break_glass",
    "break_glass_reason",
    "break_glass_reason_sha256",
    "request_id",
    "client_address",
)
#: What an event holds while it waits to be linked: everything hashed but its position.
PENDING_FIELDS = tuple(name for name in HASHED_FIELDS if name != "seq")
#: Every stored column of a linked event, in the order exports and verification read them.
STORED_FIELDS = (*HASHED_FIELDS, "prev_hash", "hash")
#: Hashed fields left out of the canonical JSON when they are null (added after events existed).
OPTIONAL_FIELDS = frozenset({"break_glass_reason_sha256"})


def canonical_time(value: datetime) -> str:
    """UTC with microseconds; a naive value (as SQLite returns it) is taken to be UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_SORTED_FIELDS = tuple(sorted(HASHED_FIELDS))


def _encode_other(value: Any) -> Any:
    if isinstance(value, datetime):
        return canonical_time(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot hash a {type(value).__name__}")


# Keys are inserted in sorted order, so the encoder need not sort them; the output is the same
# as json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_encode_other)


def canonical_json(fields: Mapping[str, Any]) -> bytes:
    present = {name: fields.get(name) for name in _SORTED_FIELDS}
    return _ENCODER.encode(
        {name: value for name, value in present.items() if value is not None or name not in OPTIONAL_FIELDS}
    ).encode("utf-8")


def event_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(prev_hash.encode("utf-8"))  # hex on every real event; a forged one must not raise
    digest.update(canonical_json(fields))
    return digest.hexdigest()


def _sql_value(name: str) -> str:
    if name == "occurred_at":
        return f"""'"' || to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'"""
    if name == "actor_roles":
        # jsonb prints an array of strings as ["a", "b"]; only the separators carry the space
        return f"""replace({name}::jsonb::text, '", "', '","')"""
    return f"coalesce(to_json({name})::text, 'null')"


#: The same canonical JSON, built by PostgreSQL from the stored columns. Verification uses it to
#: avoid rebuilding every event in Python; `canonical_json` stays the authority, so any event
#: whose SQL form does not hash right is rebuilt and judged in Python before it is reported.
def _sql_member(index: int, name: str) -> str:
    member = f"""'{"," if index else ""}"{name}":' || {_sql_value(name)}"""
    if name in OPTIONAL_FIELDS:
        return f"CASE WHEN {name} IS NULL THEN '' ELSE {member} END"
    return member


POSTGRES_CANONICAL_JSON = (
    "'{' || " + " || ".join(_sql_member(i, name) for i, name in enumerate(_SORTED_FIELDS)) + " || '}'"
)
