"""`Idempotency-Key` for creating POSTs: a retry gets the first answer, a different body under
the same key is a 422, and the same key while the first request still runs is a 409.

A retry is a request like any other (DESIGN §4): before the first answer is replayed, the
caller's `redecide` decides it again for the principal as it is now (its role, its relationship
with the child, the guardian's consent may have changed) and audits it; a denial answers
instead of the stored answer.

The first answer is stored in the same transaction as the change it reports, so either both
exist or neither does. On PostgreSQL a transaction-scoped advisory lock on the key detects a
concurrent duplicate at once; SQLite runs writers one at a time, so there the duplicate simply
waits and then receives the stored answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.core.problems import Conflict, ValidationProblem
from service.idempotency.models import IdempotencyRecord

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    principal_id: str
    key: str
    operation: str
    request_hash: str


def _invalid_key(detail: str) -> ValidationProblem:
    return ValidationProblem(detail, errors=[{"header": "Idempotency-Key", "detail": detail}])


#: decides a replay again and audits it, given the stored first answer's body; raises to refuse
Redecide = Callable[[Any], Awaitable[None]]


async def begin(
    session: AsyncSession,
    *,
    principal_id: str,
    key: str | None,
    operation: str,
    body: BaseModel | bytes,
    redecide: Redecide,
) -> tuple[IdempotentRequest | None, Response | None]:
    """Claim `key` for this request: returns the stored first answer when this is a retry,
    once `redecide` has allowed (and audited) it again."""
    if key is None:
        return None, None
    if not _KEY.match(key):
        raise _invalid_key("Idempotency-Key must be 1–200 printable ASCII characters")
    payload = (
        body
        if isinstance(body, bytes)
        else json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False).encode()
    )
    request = IdempotentRequest(
        principal_id, key, operation, hashlib.sha256(operation.encode() + b"\0" + payload).hexdigest()
    )
    if session.get_bind().dialect.name == "postgresql":
        lock_id = int.from_bytes(hashlib.sha256(f"{principal_id}\0{key}".encode()).digest()[:8], "big", signed=True)
        locked = (await session.execute(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": lock_id})).scalar_one()
        if not locked:
            raise Conflict("a request with this Idempotency-Key is still being processed; retry shortly")
    stored = (
        await session.execute(
            select(IdempotencyRecord).where(
                col(IdempotencyRecord.principal_id) == principal_id,
                col(IdempotencyRecord.key) == key,
            )
        )
    ).scalar_one_or_none()
    if stored is None:
        return request, None
    if stored.request_hash != request.request_hash:
        raise _invalid_key("this Idempotency-Key was used with a different request")
    await redecide(stored.response_body)
    return request, JSONResponse(
        stored.response_body,
        status_code=stored.response_status,
        headers={**stored.response_headers, "Idempotent-Replayed": "true"},
    )


async def remember(
    session: AsyncSession, request: IdempotentRequest | None, *, status: int, body: Any, headers: dict[str, str]
) -> None:
    if request is None:
        return
    session.add(
        IdempotencyRecord(
            principal_id=request.principal_id,
            key=request.key,
            operation=request.operation,
            request_hash=request.request_hash,
            response_status=status,
            response_body=body.model_dump(mode="json") if isinstance(body, BaseModel) else body,
            response_headers=headers,
        )
    )
    await session.flush()
