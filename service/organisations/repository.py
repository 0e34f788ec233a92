"""Every query of organisations, users and clients."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Select, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.organisations.models import Client, Organisation, OrganisationMunicipality, User


async def municipality_codes(
    session: AsyncSession, organisation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    rows = await session.execute(
        select(col(OrganisationMunicipality.organisation_id), col(OrganisationMunicipality.municipality_code))
        .where(col(OrganisationMunicipality.organisation_id).in_(organisation_ids))
        .order_by(col(OrganisationMunicipality.municipality_code))
    )
    codes: dict[uuid.UUID, list[str]] = defaultdict(list)
    for organisation_id, code in rows:
        codes[organisation_id].append(code)
    return codes


async def replace_municipalities(
    session: AsyncSession, organisation_id: uuid.UUID, codes: Sequence[str]
) -> None:
    await session.execute(
        delete(OrganisationMunicipality).where(
            col(OrganisationMunicipality.organisation_id) == organisation_id
        )
    )
    await session.execute(
        insert(OrganisationMunicipality),
        [{"organisation_id": organisation_id, "municipality_code": c} for c in dict.fromkeys(codes)],
    )


async def get_organisation(session: AsyncSession, organisation_id: uuid.UUID) -> Organisation | None:
    return await session.get(Organisation, organisation_id)


async def organisation_by_code(session: AsyncSession, code: str) -> Organisation | None:
    return (
        await session.execute(select(Organisation).where(col(Organisation.code) == code))
    ).scalar_one_or_none()


async def list_organisations(
    session: AsyncSession, *, after_code: str | None, limit: int
) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.code).limit(limit)
    if after_code is not None:
        query = query.where(col(Organisation.code) > after_code)
    return list((await session.execute(query)).scalars())


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return (
        await session.execute(select(User).where(col(User.username) == username))
    ).scalar_one_or_none()


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def list_users(
    session: AsyncSession, *, after_username: str | None, limit: int
) -> list[User]:
    query = select(User).order_by(User.username).limit(limit)
    if after_username is not None:
        query = query.where(col(User.username) > after_username)
    return list((await session.execute(query)).scalars())


async def active_users_of(session: AsyncSession, organisation_id: uuid.UUID) -> list[User]:
    """The organisation's users who are not disabled, by username."""
    query = select(User).where(col(User.organisation_id) == organisation_id, col(User.disabled).is_(False))
    return list((await session.execute(query.order_by(col(User.username)).limit(500))).scalars())


async def usernames(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    rows = await session.execute(select(col(User.id), col(User.username)).where(col(User.id).in_(list(user_ids))))
    return {user_id: username for user_id, username in rows.all()}


async def get_client(session: AsyncSession, client_id: uuid.UUID) -> Client | None:
    return await session.get(Client, client_id)


async def list_clients(session: AsyncSession, *, after_id: uuid.UUID | None, limit: int) -> list[Client]:
    query = select(Client).order_by(col(Client.id)).limit(limit)
    if after_id is not None:
        query = query.where(col(Client.id) > after_id)
    return list((await session.execute(query)).scalars())


async def clients_named(session: AsyncSession, name: str) -> list[Client]:
    return list((await session.execute(select(Client).where(col(Client.name) == name))).scalars())


async def user_with_organisation(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[User, Organisation | None, list[str]] | None:
    """The user, its organisation and the municipalities that organisation serves, in one round
    trip: this runs on every authenticated request."""
    rows = (
        await session.execute(
            select(User, Organisation, col(OrganisationMunicipality.municipality_code))
            .outerjoin(Organisation, col(User.organisation_id) == col(Organisation.id))
            .outerjoin(OrganisationMunicipality, col(OrganisationMunicipality.organisation_id) == col(Organisation.id))
            .where(col(User.id) == user_id)
        )
    ).all()
    if not rows:
        return None
    return rows[0][0], rows[0][1], sorted(row[2] for row in rows if row[2] is not None)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a token's subject is now, as much as the principal needs: read on every request."""

    disabled: bool
    token_generation: int
    roles: list[str]
    organisation_id: uuid.UUID | None
    organisation_kind: str | None
    municipality_codes: list[str]


def _credentials_of(account: type[User] | type[Client]) -> Select[bool, int, list[str], uuid.UUID | None, str, str]:
    """One statement, built once: the account, its organisation's kind and every municipality
    the organisation serves (a row per municipality)."""
    return (
        select(
            col(account.disabled),
            col(account.token_generation),
            col(account.roles),
            col(account.organisation_id),
            col(Organisation.kind),
            col(OrganisationMunicipality.municipality_code),
        )
        .outerjoin(Organisation, col(account.organisation_id) == col(Organisation.id))
        .outerjoin(OrganisationMunicipality, col(OrganisationMunicipality.organisation_id) == col(Organisation.id))
        .where(col(account.id) == bindparam("account_id"))
    )


_CREDENTIALS = {"user": _credentials_of(User), "client": _credentials_of(Client)}


async def credentials(
    session: AsyncSession, kind: Literal["user", "client"], account_id: uuid.UUID
) -> Credentials | None:
    """A user's or client's credentials in one round trip on the session's connection, without
    the ORM's loading (no objects, no identity map); None when there is no such account."""
    connection = await session.connection()
    rows = (await connection.execute(_CREDENTIALS[kind], {"account_id": account_id})).all()
    if not rows:
        return None
    disabled, generation, roles, organisation_id, organisation_kind, _ = rows[0]
    return Credentials(
        disabled=bool(disabled),
        token_generation=int(generation),
        roles=list(roles),
        organisation_id=organisation_id,
        organisation_kind=organisation_kind,
        municipality_codes=sorted(row[5] for row in rows if row[5] is not None),
    )


async def client_with_organisation(
    session: AsyncSession, client_id: uuid.UUID
) -> tuple[Client, Organisation, list[str]] | None:
    """As `user_with_organisation`, for an API client."""
    rows = (
        await session.execute(
            select(Client, Organisation, col(OrganisationMunicipality.municipality_code))
            .join(Organisation, col(Client.organisation_id) == col(Organisation.id))
            .outerjoin(OrganisationMunicipality, col(OrganisationMunicipality.organisation_id) == col(Organisation.id))
            .where(col(Client.id) == client_id)
        )
    ).all()
    if not rows:
        return None
    return rows[0][0], rows[0][1], sorted(row[2] for row in rows if row[2] is not None)


async def schools_among(session: AsyncSession, organisation_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not organisation_ids:
        return set()
    query = select(col(Organisation.id)).where(
        col(Organisation.id).in_(set(organisation_ids)), col(Organisation.kind) == "school"
    )
    return set((await session.execute(query)).scalars())


async def organisation_names(session: AsyncSession, organisation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not organisation_ids:
        return {}
    rows = await session.execute(
        select(col(Organisation.id), col(Organisation.name)).where(col(Organisation.id).in_(set(organisation_ids)))
    )
    return {organisation_id: name for organisation_id, name in rows}


async def organisations_of_kind(session: AsyncSession, kind: str) -> list[Organisation]:
    query = select(Organisation).where(col(Organisation.kind) == kind).order_by(col(Organisation.name))
    return list((await session.execute(query)).scalars())
