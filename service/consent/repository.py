"""Every query of consents."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.access.consent import ConsentFacts
from service.consent.models import Consent, ConsentRecipient


async def add(session: AsyncSession, consent: Consent, recipient_ids: Sequence[uuid.UUID]) -> None:
    session.add(consent)
    await session.flush()
    await session.execute(
        insert(ConsentRecipient),
        [{"consent_id": consent.id, "organisation_id": org} for org in dict.fromkeys(recipient_ids)],
    )


async def get(session: AsyncSession, consent_id: uuid.UUID, *, for_update: bool = False) -> Consent | None:
    query = select(Consent).where(col(Consent.id) == consent_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def recipients_of(session: AsyncSession, consent_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if not consent_ids:
        return found
    rows = await session.execute(
        select(col(ConsentRecipient.consent_id), col(ConsentRecipient.organisation_id)).where(
            col(ConsentRecipient.consent_id).in_(consent_ids)
        )
    )
    for consent_id, org in rows:
        found[consent_id].append(org)
    return found


async def for_child(session: AsyncSession, child_id: uuid.UUID) -> list[Consent]:
    rows = await session.execute(
        select(Consent).where(col(Consent.child_id) == child_id).order_by(col(Consent.created_at), col(Consent.id))
    )
    return list(rows.scalars())


async def page_for_child(
    session: AsyncSession, child_id: uuid.UUID, *, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[Consent]:
    """Oldest first, keyset on (created_at, id)."""
    created_at, identifier = col(Consent.created_at), col(Consent.id)
    query = select(Consent).where(col(Consent.child_id) == child_id).order_by(created_at, identifier).limit(limit)
    if after is not None:
        query = query.where(or_(created_at > after[0], and_(created_at == after[0], identifier > after[1])))
    return list((await session.execute(query)).scalars())


def facts(consent: Consent, recipients: Sequence[uuid.UUID]) -> ConsentFacts:
    return ConsentFacts(
        consent_id=consent.id,
        child_id=consent.child_id,
        purposes=frozenset(consent.purposes),
        recipients=frozenset(recipients),
        valid_from=consent.valid_from,
        valid_until=consent.valid_until,
        withdrawn_at=consent.withdrawn_at,
    )


async def facts_by_id(
    session: AsyncSession, consent_ids: Sequence[uuid.UUID | None]
) -> dict[uuid.UUID, ConsentFacts]:
    ids = [c for c in dict.fromkeys(consent_ids) if c is not None]
    if not ids:
        return {}
    consents = (await session.execute(select(Consent).where(col(Consent.id).in_(ids)))).scalars().all()
    recipients = await recipients_of(session, ids)
    return {c.id: facts(c, recipients[c.id]) for c in consents}
