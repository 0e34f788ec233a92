"""Every query of the console's own data: its sessions and its sign-ins with the OIDC issuer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.web.models import OidcSignIn, WebSession


async def add_session(session: AsyncSession, web_session: WebSession) -> None:
    session.add(web_session)
    await session.flush()


async def get_session(session: AsyncSession, session_id: str) -> WebSession | None:
    result = await session.execute(select(WebSession).where(col(WebSession.id) == session_id))
    return result.scalar_one_or_none()


async def touch_session(session: AsyncSession, session_id: str, now: datetime) -> None:
    await session.execute(update(WebSession).where(col(WebSession.id) == session_id).values(last_seen_at=now))


async def delete_session(session: AsyncSession, session_id: str) -> None:
    await session.execute(delete(WebSession).where(col(WebSession.id) == session_id))


async def delete_idle_sessions(session: AsyncSession, idle_before: datetime) -> None:
    await session.execute(delete(WebSession).where(col(WebSession.last_seen_at) < idle_before))


async def add_oidc_sign_in(session: AsyncSession, pending: OidcSignIn, *, expired_before: datetime) -> None:
    """A sign-in sent to the issuer; the ones that never came back in time are dropped."""
    await session.execute(delete(OidcSignIn).where(col(OidcSignIn.created_at) < expired_before))
    session.add(pending)
    await session.flush()


async def take_oidc_sign_in(session: AsyncSession, sign_in_id: str) -> OidcSignIn | None:
    """The sign-in under way with this id, removed as it is read: a state is used once."""
    result = await session.execute(select(OidcSignIn).where(col(OidcSignIn.id) == sign_in_id).with_for_update())
    found = result.scalar_one_or_none()
    if found is not None:
        await session.execute(delete(OidcSignIn).where(col(OidcSignIn.id) == sign_in_id))
    return found
