"""Free text that audit events refer to but the chain must not hold.

A break-glass reason is written by an officer in a hurry and often names the child or gives a
PIN. The audit chain is immutable, so the text lives in `audit_free_text`, which retention
erases, and an event holds only `break_glass_reason_sha256`: SHA-256 over a random salt and the
text. While the text exists anyone holding it can check it against the chain; once retention
deletes the row (salt included) the hash says nothing about it, and the chain still verifies.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from service.audit import repository
from service.core.clock import utcnow

_KEPT = "audit_free_text.kept"


def digest(salt: str, text: str) -> str:
    """The SHA-256 (hex) the chain holds for `text` stored with `salt` (hex)."""
    return hashlib.sha256(bytes.fromhex(salt) + text.encode("utf-8")).hexdigest()


async def keep(session: AsyncSession, text: str) -> str:
    """Store `text` in the caller's transaction and answer the SHA-256 that events, the review
    queue and inbox notices refer to it by. The same text is stored once per transaction, so
    every event of one break-glass read names the same entry."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_KEPT)
    if cached is None or cached[0] is not transaction:
        cached = session.info[_KEPT] = (transaction, {})
    kept: dict[str, str] = cached[1]
    if text not in kept:
        salt = secrets.token_hex(16)
        sha256 = digest(salt, text)
        await repository.add_free_text(session, sha256=sha256, salt=salt, text=text, created_at=utcnow())
        kept[text] = sha256
    return kept[text]


async def texts(session: AsyncSession, sha256s: Iterable[str | None]) -> dict[str, str]:
    """The texts that still exist, by SHA-256. An entry whose text no longer matches its hash
    (changed behind the service's back) is left out rather than shown as if it were the original."""
    wanted = {s for s in sha256s if s}
    if not wanted:
        return {}
    rows = await repository.free_texts(session, wanted)
    return {sha256: text for sha256, salt, text in rows if digest(salt, text) == sha256}
