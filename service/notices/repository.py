"""Every query of notice preferences."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.notices.events import DEFAULT_EVENTS, NoticeEvent
from service.notices.models import NoticePreference
from service.organisations.models import User


async def get(session: AsyncSession, user_id: uuid.UUID) -> NoticePreference | None:
    return await session.get(NoticePreference, user_id)


async def save(session: AsyncSession, preference: NoticePreference) -> None:
    session.add(preference)
    await session.flush()


@dataclass(frozen=True, slots=True)
class Addressee:
    user_id: uuid.UUID
    #: None: the person has given no address (skipped, and counted)
    email: str | None
    language: str
    digest_hour: int | None


async def addressees(
    session: AsyncSession,
    event: NoticeEvent,
    *,
    organisations: Iterable[uuid.UUID] = (),
    people: Iterable[uuid.UUID] = (),
) -> list[Addressee]:
    """The enabled users of `organisations`, and `people`, who want `event` (by their
    preference, or by default when they set none), each once."""
    orgs, persons = list(dict.fromkeys(organisations)), list(dict.fromkeys(people))
    if not orgs and not persons:
        return []
    criteria = []
    if orgs:
        criteria.append(col(User.organisation_id).in_(orgs))
    if persons:
        criteria.append(col(User.id).in_(persons))
    rows = (
        await session.execute(
            select(col(User.id), NoticePreference)
            .outerjoin(NoticePreference, col(NoticePreference.user_id) == col(User.id))
            .where(or_(*criteria), col(User.disabled).is_(False))
            .order_by(col(User.id))
        )
    ).all()
    found = []
    for user_id, preference in rows:
        if preference is None:
            if event in DEFAULT_EVENTS:
                found.append(Addressee(user_id, None, "bg", None))
        elif event.value in preference.events:
            found.append(Addressee(user_id, preference.email, preference.language, preference.digest_hour))
    return found
