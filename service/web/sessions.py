"""Signing in to the console, the session that follows, and signing out.

The cookie carries a random token; the table keeps only its SHA-256, the user, the user's token
generation at sign-in and the session's CSRF token (for a person the OpenID Connect issuer
vouched for: the subject, organisation code and roles its ID token named). A session idle for `IDLE_TIMEOUT` is gone;
every sign-in issues a new token (an old one in the same browser ends), so a token planted
before sign-in is worth nothing after it. The principal is rebuilt from the database on every
request, as the API rebuilds it from a bearer token: a disabled user is out at once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.principal import Principal, PrincipalKind
from service.auth import service as auth
from service.core.problems import Problem
from service.web import repository
from service.web.models import WebSession

IDLE_TIMEOUT = timedelta(minutes=15)
SESSION_COOKIE = "obhvat_session"
#: before sign-in, the sign-in form's CSRF token is paired with this cookie (double submit)
PRE_SESSION_COOKIE = "obhvat_presession"


@dataclass(frozen=True, slots=True)
class SignedIn:
    principal: Principal
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(offered: str | None, expected: str | None) -> bool:
    return bool(offered) and bool(expected) and hmac.compare_digest(str(offered), str(expected))


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """What the issuer's ID token said of a person: kept with the session, and mapped again on
    every request as a bearer token with the same claims would be."""

    subject: str
    organisation_code: str
    roles: tuple[str, ...]


async def sign_in(
    session: AsyncSession,
    *,
    principal: Principal,
    generation: int,
    previous_token: str | None,
    now: datetime,
    external: ExternalIdentity | None = None,
) -> str:
    """A new session for the principal; returns the cookie's token. The browser's previous
    session, if any, ends; so do every user's sessions idle past the timeout."""
    if previous_token:
        await repository.delete_session(session, _digest(previous_token))
    await repository.delete_idle_sessions(session, now - IDLE_TIMEOUT)
    token = new_token()
    row = WebSession(
        id=_digest(token),
        token_generation=generation,
        csrf_token=new_token(),
        created_at=now,
        last_seen_at=now,
    )
    if principal.kind is PrincipalKind.external:
        if external is None:
            raise ValueError("a session of an external principal needs the identity its issuer named")
        row.external_subject = external.subject
        row.external_organisation = external.organisation_code
        row.external_roles = list(external.roles)
    else:
        row.user_id = uuid.UUID(principal.id)
    await repository.add_session(session, row)
    return token


async def _principal_of(session: AsyncSession, row: WebSession) -> Principal:
    if row.user_id is not None:
        return await auth.user_principal(session, row.user_id, generation=row.token_generation)
    return await auth.external_principal(
        session,
        subject=row.external_subject or "",
        organisation_code=row.external_organisation,
        roles=row.external_roles,
    )


async def resume(session: AsyncSession, *, token: str, now: datetime) -> SignedIn | None:
    """The signed-in principal of a session cookie, or None when the session is unknown, idle
    past the timeout, or its user was disabled or had their sessions revoked."""
    row = await repository.get_session(session, _digest(token))
    if row is None:
        return None
    if now - row.last_seen_at > IDLE_TIMEOUT:
        await repository.delete_session(session, row.id)
        return None
    try:
        principal = await _principal_of(session, row)
    except Problem:
        await repository.delete_session(session, row.id)
        return None
    await repository.touch_session(session, row.id, now)
    return SignedIn(principal=principal, csrf_token=row.csrf_token)


async def sign_out(session: AsyncSession, *, token: str) -> None:
    await repository.delete_session(session, _digest(token))
