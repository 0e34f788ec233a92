"""Signed checkpoints of the audit chain head."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit.chain import canonical_time
from service.audit.models import AuditCheckpoint, AuditHead
from service.audit.verify import Verification, check_checkpoint
from service.auth.jwt import TokenInvalid, sign_document, signed_kid, verify_document
from service.auth.keys import SIGNING_ALGORITHM, KeyRing
from service.core.clock import utcnow


async def latest(session: AsyncSession) -> AuditCheckpoint | None:
    return (
        await session.execute(select(AuditCheckpoint).order_by(col(AuditCheckpoint.seq).desc()).limit(1))
    ).scalar_one_or_none()


async def create(session: AsyncSession, keys: KeyRing) -> AuditCheckpoint | None:
    """Sign the current head; None when the head has not moved since the last checkpoint."""
    head = select(col(AuditHead.seq), col(AuditHead.hash)).where(col(AuditHead.id) == 1)
    seq, head_hash = (await session.execute(head)).one()
    previous = await latest(session)
    if seq == 0 or (previous is not None and previous.seq == seq):
        return None
    signed_at = utcnow()
    key = keys.active
    signature = sign_document(
        {"seq": int(seq), "hash": head_hash, "signed_at": canonical_time(signed_at)},
        private_pem=key.private_pem,
        algorithm=SIGNING_ALGORITHM,
        kid=key.kid,
    )
    checkpoint = AuditCheckpoint(seq=seq, hash=head_hash, signed_at=signed_at, kid=key.kid, signature=signature)
    session.add(checkpoint)
    await session.flush()
    return checkpoint


def exported(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """The form kept outside the database (and given to `obhvat audit verify --checkpoint`)."""
    return {
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "signed_at": canonical_time(checkpoint.signed_at),
        "kid": checkpoint.kid,
        "signature": checkpoint.signature,
    }


async def verify_against(
    session: AsyncSession, result: Verification, document: dict[str, Any], keys: KeyRing
) -> Verification:
    """Check the checkpoint's signature with the service's keys, then that the chain still
    holds the signed event unchanged."""
    signature = document.get("signature")
    kid = signed_kid(signature) if isinstance(signature, str) else None
    key = keys.by_kid.get(kid) if kid else None
    if key is None or not isinstance(signature, str):
        result.fail(0, "the checkpoint was not signed by a key of this service")
        return result
    try:
        signed = verify_document(signature, public_pem=key.public_pem, algorithm=SIGNING_ALGORITHM)
    except TokenInvalid:
        result.fail(0, "the checkpoint's signature is not valid")
        return result
    if not isinstance(signed.get("seq"), int) or not isinstance(signed.get("hash"), str):
        result.fail(0, "the checkpoint does not name an event")
        return result
    return await check_checkpoint(session, result, seq=signed["seq"], hash_=signed["hash"])
