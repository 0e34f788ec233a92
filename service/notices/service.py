"""Reading and changing one's own notice preferences."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import require
from service.access.principal import Principal, PrincipalKind
from service.access.vocabulary import Action
from service.core.clock import utcnow
from service.core.problems import Forbidden
from service.notices import repository
from service.notices.events import DEFAULT_EVENTS, NoticeEvent
from service.notices.models import NoticePreference
from service.notices.schemas import NoticePreferences, NoticePreferencesRead


def _person(actor: Principal) -> uuid.UUID:
    require(actor, Action.read_self)
    if actor.kind is not PrincipalKind.user:
        raise Forbidden("e-mail notices are for people with a user account, not for system clients")
    return uuid.UUID(actor.id)


async def preferences(session: AsyncSession, *, actor: Principal) -> NoticePreferencesRead:
    stored = await repository.get(session, _person(actor))
    if stored is None:
        return NoticePreferencesRead(email=None, language="bg", events=list(DEFAULT_EVENTS), digest_hour=None)
    return NoticePreferencesRead(
        email=stored.email,
        language="en" if stored.language == "en" else "bg",
        events=[NoticeEvent(e) for e in stored.events if e in NoticeEvent.__members__.values()],
        digest_hour=stored.digest_hour,
    )


async def set_preferences(session: AsyncSession, *, actor: Principal, data: NoticePreferences) -> NoticePreferencesRead:
    user_id = _person(actor)
    stored = await repository.get(session, user_id) or NoticePreference(user_id=user_id, events=[])
    stored.email = data.email
    stored.language = data.language
    stored.events = [e.value for e in dict.fromkeys(data.events)]
    stored.digest_hour = data.digest_hour
    stored.updated_at = utcnow()
    await repository.save(session, stored)
    return await preferences(session, actor=actor)
