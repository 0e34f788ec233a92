"""Administration of organisations, users and system clients. Every change is audited."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.principal import Principal
from service.access.vocabulary import OrganisationKind, Role, mixes_duties, role_allowed_in
from service.audit.service import AuditRecord, record
from service.core.passwords import Passwords
from service.core.problems import NotFound, ValidationProblem, field_error
from service.organisations import repository
from service.organisations.models import Client, Organisation, User
from service.organisations.schemas import (
    ClientCreate,
    ClientCreated,
    ClientRead,
    ClientUpdate,
    OrganisationCreate,
    OrganisationRead,
    OrganisationUpdate,
    UserCreate,
    UserRead,
    UserUpdate,
)


async def _audit_admin_write(
    session: AsyncSession, *, actor: Principal, action: str, resource_type: str, resource_id: uuid.UUID
) -> None:
    await record(
        session,
        AuditRecord(
            actor=actor,
            action=action,
            decision="allow",
            reason="administrator changed configuration",
            resource_type=resource_type,
            resource_id=str(resource_id),
        ),
    )


async def _flush_unique(session: AsyncSession, pointer: str, detail: str) -> None:
    """Flush inside a savepoint so a unique-key clash is a 422, not a failed transaction."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise field_error(pointer, detail) from None


def organisation_read(organisation: Organisation, codes: Sequence[str]) -> OrganisationRead:
    return OrganisationRead(
        id=organisation.id,
        code=organisation.code,
        kind=OrganisationKind(organisation.kind),
        name=organisation.name,
        municipality_codes=list(codes),
        phone=organisation.phone,
        email=organisation.email,
        created_at=organisation.created_at,
    )


async def create_organisation(
    session: AsyncSession, *, actor: Principal, data: OrganisationCreate
) -> OrganisationRead:
    if await repository.organisation_by_code(session, data.code):
        raise field_error("/code", f"an organisation with code {data.code!r} exists")
    organisation = Organisation(
        code=data.code, kind=data.kind.value, name=data.name, phone=data.phone, email=data.email
    )
    session.add(organisation)
    await _flush_unique(session, "/code", f"an organisation with code {data.code!r} exists")
    await repository.replace_municipalities(session, organisation.id, data.municipality_codes)
    await _audit_admin_write(
        session, actor=actor, action="organisation.create",
        resource_type="organisation", resource_id=organisation.id,
    )
    return organisation_read(organisation, sorted(set(data.municipality_codes)))


async def read_organisation(session: AsyncSession, *, organisation_id: uuid.UUID) -> OrganisationRead:
    organisation = await repository.get_organisation(session, organisation_id)
    if organisation is None:
        raise NotFound("no such organisation")
    codes = await repository.municipality_codes(session, [organisation.id])
    return organisation_read(organisation, codes[organisation.id])


async def list_organisations(
    session: AsyncSession, *, after_code: str | None, limit: int
) -> tuple[list[OrganisationRead], str | None]:
    rows = await repository.list_organisations(session, after_code=after_code, limit=limit + 1)
    page = rows[:limit]
    codes = await repository.municipality_codes(session, [o.id for o in page])
    items = [organisation_read(o, codes[o.id]) for o in page]
    return items, (page[-1].code if len(rows) > limit else None)


async def update_organisation(
    session: AsyncSession, *, actor: Principal, organisation_id: uuid.UUID, data: OrganisationUpdate
) -> OrganisationRead:
    organisation = await repository.get_organisation(session, organisation_id)
    if organisation is None:
        raise NotFound("no such organisation")
    if data.name is not None:
        organisation.name = data.name
    if "phone" in data.model_fields_set:
        organisation.phone = data.phone
    if "email" in data.model_fields_set:
        organisation.email = data.email
    if data.municipality_codes is not None:
        await repository.replace_municipalities(session, organisation.id, data.municipality_codes)
    await session.flush()
    await _audit_admin_write(
        session, actor=actor, action="organisation.update",
        resource_type="organisation", resource_id=organisation.id,
    )
    return await read_organisation(session, organisation_id=organisation.id)


async def _check_roles(
    session: AsyncSession, *, roles: Sequence[Role], organisation_id: uuid.UUID | None
) -> None:
    kind: OrganisationKind | None = None
    if organisation_id is not None:
        organisation = await repository.get_organisation(session, organisation_id)
        if organisation is None:
            raise field_error("/organisation_id", "no such organisation")
        kind = OrganisationKind(organisation.kind)
    errors = [
        {
            "pointer": f"#/roles/{index}",
            "detail": (
                "admin is platform-wide and belongs to no organisation"
                if role is Role.admin
                else f"role {role.value} is not valid in "
                + (f"an organisation of kind {kind.value}" if kind else "no organisation")
            ),
        }
        for index, role in enumerate(roles)
        if not role_allowed_in(role, kind)
    ]
    if not errors and mixes_duties(roles):
        # separation of duties (DESIGN §2), once each role is valid where it is held
        errors = [{"pointer": "#/roles", "detail": "auditor and admin are held alone, without any other role"}]
    if errors:
        raise ValidationProblem(errors[0]["detail"], errors=errors)


def user_read(user: User) -> UserRead:
    return UserRead.model_validate(user, from_attributes=True)


async def create_user(
    session: AsyncSession, *, actor: Principal, data: UserCreate, passwords: Passwords
) -> UserRead:
    await _check_roles(session, roles=data.roles, organisation_id=data.organisation_id)
    if await repository.user_by_username(session, data.username):
        raise field_error("/username", "username is taken")
    user = User(
        username=data.username,
        password_hash=passwords.hash(data.password),
        organisation_id=data.organisation_id,
        roles=sorted({r.value for r in data.roles}),
    )
    session.add(user)
    await _flush_unique(session, "/username", "username is taken")
    await _audit_admin_write(
        session, actor=actor, action="user.create", resource_type="user", resource_id=user.id
    )
    return user_read(user)


async def list_users(
    session: AsyncSession, *, after_username: str | None, limit: int
) -> tuple[list[UserRead], str | None]:
    rows = await repository.list_users(session, after_username=after_username, limit=limit + 1)
    page = rows[:limit]
    return [user_read(u) for u in page], (page[-1].username if len(rows) > limit else None)


async def update_user(
    session: AsyncSession, *, actor: Principal, user_id: uuid.UUID, data: UserUpdate, passwords: Passwords
) -> UserRead:
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound("no such user")
    if data.roles is not None:
        await _check_roles(session, roles=data.roles, organisation_id=user.organisation_id)
        user.roles = sorted({r.value for r in data.roles})
    if data.password is not None:
        user.password_hash = passwords.hash(data.password)
        user.token_generation += 1
    if data.disabled is not None:
        if data.disabled and not user.disabled:
            user.token_generation += 1
        user.disabled = data.disabled
    await session.flush()
    await _audit_admin_write(
        session, actor=actor, action="user.update", resource_type="user", resource_id=user.id
    )
    return user_read(user)


def _new_client_secret() -> str:
    return "obh_" + secrets.token_urlsafe(32)


async def create_client(
    session: AsyncSession, *, actor: Principal, data: ClientCreate, passwords: Passwords
) -> ClientCreated:
    await _check_roles(session, roles=data.roles, organisation_id=data.organisation_id)
    secret = _new_client_secret()
    client = Client(
        name=data.name,
        organisation_id=data.organisation_id,
        roles=sorted({r.value for r in data.roles}),
        secret_hash=passwords.hash(secret),
    )
    session.add(client)
    await session.flush()
    await _audit_admin_write(
        session, actor=actor, action="client.create", resource_type="client", resource_id=client.id
    )
    return ClientCreated(
        id=client.id,
        name=client.name,
        organisation_id=client.organisation_id,
        roles=[Role(r) for r in client.roles],
        client_id=str(client.id),
        client_secret=secret,
    )


def client_read(client: Client) -> ClientRead:
    return ClientRead(
        id=client.id,
        name=client.name,
        organisation_id=client.organisation_id,
        roles=[Role(r) for r in client.roles],
        disabled=client.disabled,
        created_at=client.created_at,
    )


async def list_clients(
    session: AsyncSession, *, after_id: uuid.UUID | None, limit: int
) -> tuple[list[ClientRead], uuid.UUID | None]:
    """System accounts, without their secrets (only a hash is kept)."""
    rows = await repository.list_clients(session, after_id=after_id, limit=limit + 1)
    page = rows[:limit]
    return [client_read(c) for c in page], (page[-1].id if len(rows) > limit else None)


async def update_client(
    session: AsyncSession, *, actor: Principal, client_id: uuid.UUID, data: ClientUpdate, passwords: Passwords
) -> ClientRead:
    """Disable or re-enable a client, or rotate its secret. Disabling and rotating both raise the
    client's token generation, so every token it holds is refused from this commit on (as a
    disabled user's are); a rotated secret is in this answer only."""
    if data.disabled is None and not data.rotate_secret:
        raise ValidationProblem(
            "nothing to change: give disabled or rotate_secret",
            errors=[{"pointer": "#/disabled", "detail": "give disabled or rotate_secret"}],
        )
    client = await repository.get_client(session, client_id)
    if client is None:
        raise NotFound("no such client")
    actions: list[str] = []
    if data.disabled is not None and data.disabled != client.disabled:
        client.disabled = data.disabled
        if data.disabled:
            client.token_generation += 1
        actions.append("client.disable" if data.disabled else "client.enable")
    new_secret = None
    if data.rotate_secret:
        new_secret = _new_client_secret()
        client.secret_hash = passwords.hash(new_secret)
        client.token_generation += 1
        actions.append("client.rotate_secret")
    await session.flush()
    for action in actions:
        await _audit_admin_write(session, actor=actor, action=action, resource_type="client", resource_id=client.id)
    return client_read(client).model_copy(update={"client_secret": new_secret})
async def organisation_names(session: AsyncSession, *, organisation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Organisations by name, for people to read (the directory of agencies is no child data)."""
    return await repository.organisation_names(session, organisation_ids)


async def schools_among(session: AsyncSession, *, organisation_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these organisations are schools (the directory of agencies is no child data)."""
    return await repository.schools_among(session, organisation_ids)


async def service_providers(session: AsyncSession) -> list[OrganisationRead]:
    """The providers an alert may be referred to, by name (the directory of agencies)."""
    providers = await repository.organisations_of_kind(session, OrganisationKind.service_provider.value)
    codes = await repository.municipality_codes(session, [p.id for p in providers])
    return [organisation_read(p, codes[p.id]) for p in providers]
