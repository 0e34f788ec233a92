"""Every query of the console's own data: its sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.web.models import WebSession


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
