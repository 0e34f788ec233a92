"""Every query of teams and their members."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.organisations.models import User
from service.teams.models import Team, TeamMember


async def get_team(session: AsyncSession, team_id: uuid.UUID) -> Team | None:
    return await session.get(Team, team_id)


async def team_by_code(session: AsyncSession, code: str) -> Team | None:
    return (await session.execute(select(Team).where(col(Team.code) == code))).scalar_one_or_none()


async def teams_of_municipalities(session: AsyncSession, codes: Sequence[str]) -> list[Team]:
    rows = await session.execute(
        select(Team).where(col(Team.municipality_code).in_(list(codes))).order_by(col(Team.code)).limit(500)
    )
    return list(rows.scalars())


async def members_of(
    session: AsyncSession, team_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[TeamMember, User]]]:
    found: dict[uuid.UUID, list[tuple[TeamMember, User]]] = defaultdict(list)
    if not team_ids:
        return found
    rows = await session.execute(
        select(TeamMember, User)
        .join(User, col(User.id) == col(TeamMember.user_id))
        .where(col(TeamMember.team_id).in_(list(team_ids)))
        .order_by(col(User.username))
    )
    for member, user in rows.all():
        found[member.team_id].append((member, user))
    return found


async def membership(session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID) -> TeamMember | None:
    rows = await session.execute(
        select(TeamMember).where(col(TeamMember.team_id) == team_id, col(TeamMember.user_id) == user_id)
    )
    return rows.scalar_one_or_none()


async def remove_member(session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await session.execute(
        delete(TeamMember).where(col(TeamMember.team_id) == team_id, col(TeamMember.user_id) == user_id)
    )


async def teams_of_user(session: AsyncSession, user_id: uuid.UUID) -> list[Team]:
    rows = await session.execute(
        select(Team)
        .join(TeamMember, col(TeamMember.team_id) == col(Team.id))
        .where(col(TeamMember.user_id) == user_id)
        .order_by(col(Team.code))
    )
    return list(rows.scalars())
