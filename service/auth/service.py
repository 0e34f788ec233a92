"""Logging in (password and client-credentials grants) and turning a verified token into the
principal every access decision is about."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import audit_entry_of
from service.access.principal import ANONYMOUS, Principal, PrincipalKind
from service.access.vocabulary import OrganisationKind, Role, mixes_duties, role_allowed_in
from service.audit.service import AuditRecord, record
from service.auth import throttle
from service.auth.tokens import VerifiedToken
from service.core.passwords import Passwords
from service.core.problems import Problem, TooManyRequests, Unauthenticated
from service.organisations import repository as organisations
from service.organisations.models import Organisation


class AuthenticationFailed(Unauthenticated):
    """A 401 that the problem handler also writes to the audit trail."""

    def __init__(self, reason: str, *, actor: Principal = ANONYMOUS, action: str = "authenticate") -> None:
        super().__init__()
        self.audit_entry = AuditRecord(actor=actor, action=action, decision="deny", reason=reason)


class LoginFailed(AuthenticationFailed):
    """RFC 6749 §5.2: a failed grant is `invalid_grant`/`invalid_client` (still a problem body).
    `throttle_keys` are counted against (after the request's transaction is rolled back)."""

    def __init__(self, reason: str, *, actor: Principal = ANONYMOUS, error: str = "invalid_grant") -> None:
        super().__init__(reason, actor=actor, action="login")
        self.detail = "invalid credentials"
        self.extensions["error"] = error
        self.throttle_keys: list[str] = []


class LoginThrottled(TooManyRequests):
    """Too many failed logins for this username from this address, or from this address: refused
    for a while, counted with the address's requests without valid credentials."""

    def __init__(self, seconds: int) -> None:
        super().__init__("too many failed logins; try again later", headers={"Retry-After": str(seconds)})


#: Why a principal whose roles break separation of duties (auditor or admin with other roles:
#: DESIGN §2) is refused, whatever its token says; such role sets are refused when stored, but a
#: row written before that rule, or by hand, must not work.
MIXED_DUTIES = "roles mix auditor or admin with other roles"


def _principal_for(
    *,
    kind: PrincipalKind,
    subject_id: uuid.UUID,
    roles: list[str],
    organisation: Organisation | None,
    codes: list[str],
) -> Principal:
    return Principal(
        id=str(subject_id),
        kind=kind,
        roles=frozenset(Role(r) for r in roles),
        organisation_id=organisation.id if organisation else None,
        organisation_kind=OrganisationKind(organisation.kind) if organisation else None,
        municipality_codes=frozenset(codes),
    )


async def login_with_password(
    session: AsyncSession, *, username: str, password: str, passwords: Passwords
) -> tuple[Principal, int]:
    """The principal and its token generation; constant time whether or not the user exists."""
    user = await organisations.user_by_username(session, username)
    if not passwords.verify(user.password_hash if user else None, password) or user is None:
        actor = Principal(id=str(user.id), kind=PrincipalKind.user, roles=frozenset()) if user else ANONYMOUS
        raise LoginFailed("wrong username or password", actor=actor)
    if user.disabled:
        raise LoginFailed(
            "user is disabled", actor=Principal(id=str(user.id), kind=PrincipalKind.user, roles=frozenset())
        )
    if mixes_duties(Role(r) for r in user.roles):
        raise LoginFailed(MIXED_DUTIES, actor=Principal(id=str(user.id), kind=PrincipalKind.user, roles=frozenset()))
    found = await organisations.user_with_organisation(session, user.id)
    organisation, codes = (found[1], found[2]) if found else (None, [])
    principal = _principal_for(
        kind=PrincipalKind.user, subject_id=user.id, roles=user.roles, organisation=organisation, codes=codes
    )
    return principal, user.token_generation


async def password_login(
    session: AsyncSession, *, username: str, password: str, address: str | None, passwords: Passwords
) -> tuple[Principal, int]:
    """A person's sign-in, throttled per username and address: the token endpoint's password
    grant and the console's sign-in form both come here. A failure carries the throttle keys
    that the problem handler counts against once the request's transaction is rolled back."""
    keys = throttle.keys_for(username, address)
    wait = await throttle.retry_after(session, keys)
    if wait is not None:
        raise LoginThrottled(wait)
    try:
        principal, generation = await login_with_password(
            session, username=username, password=password, passwords=passwords
        )
    except LoginFailed as failed:
        failed.throttle_keys = keys
        raise
    await throttle.record_success(session, username, address)
    return principal, generation


async def user_principal(session: AsyncSession, user_id: uuid.UUID, *, generation: int) -> Principal:
    """The principal of a signed-in person as the database says it is now: a removed or
    disabled user, or one whose tokens and sessions were revoked, is refused."""
    found = await organisations.credentials(session, "user", user_id)
    if found is None:
        raise AuthenticationFailed("user no longer exists")
    return _current_principal(PrincipalKind.user, user_id, found, generation=generation, disabled="user is disabled")


def _current_principal(
    kind: PrincipalKind,
    subject_id: uuid.UUID,
    found: organisations.Credentials,
    *,
    generation: int,
    disabled: str,
) -> Principal:
    """The principal of an account's current credentials; refused when the account is
    disabled, the token's generation is not the account's, or its roles mix duties."""
    actor = Principal(id=str(subject_id), kind=kind, roles=frozenset())
    if found.disabled:
        raise AuthenticationFailed(disabled, actor=actor)
    if generation != found.token_generation:
        raise AuthenticationFailed("token revoked", actor=actor)
    if mixes_duties(Role(r) for r in found.roles):
        raise AuthenticationFailed(MIXED_DUTIES, actor=actor)
    return Principal(
        id=str(subject_id),
        kind=kind,
        roles=frozenset(Role(r) for r in found.roles),
        organisation_id=found.organisation_id,
        organisation_kind=OrganisationKind(found.organisation_kind) if found.organisation_kind else None,
        municipality_codes=frozenset(found.municipality_codes),
    )


async def record_refusal(session: AsyncSession, problem: Problem) -> float:
    """Write a refusal's audit event and count a failed sign-in against its throttle keys, in
    a transaction the refused work is not part of; returns how long to delay the answer."""
    entry = audit_entry_of(problem)
    if entry is None:
        return 0.0
    await record(session, entry)
    if isinstance(problem, LoginFailed) and problem.throttle_keys:
        return await throttle.record_failure(session, problem.throttle_keys)
    return 0.0


async def login_with_client_secret(
    session: AsyncSession, *, client_id: str, client_secret: str, passwords: Passwords
) -> tuple[Principal, int]:
    """The principal and its token generation (raised when the client is disabled or its secret
    rotated)."""
    try:
        parsed = uuid.UUID(client_id)
    except ValueError:
        parsed = None
    found = await organisations.client_with_organisation(session, parsed) if parsed else None
    stored_hash = found[0].secret_hash if found else None
    if not passwords.verify(stored_hash, client_secret) or found is None:
        raise LoginFailed("wrong client id or secret", error="invalid_client")
    client, organisation, codes = found
    if client.disabled:
        raise LoginFailed("client is disabled", error="invalid_client")
    if mixes_duties(Role(r) for r in client.roles):
        raise LoginFailed(MIXED_DUTIES, error="invalid_client")
    principal = _principal_for(
        kind=PrincipalKind.client, subject_id=client.id, roles=client.roles, organisation=organisation, codes=codes
    )
    return principal, client.token_generation


async def principal_from_token(
    session: AsyncSession, token: VerifiedToken, *, organisation_claim: str, roles_claim: str
) -> Principal:
    """The principal a verified token stands for, as the database says it is now: a disabled
    user, a user whose tokens were revoked, or a disabled, rotated or removed client is refused at
    once."""
    claims = token.claims
    if token.external:
        return await _external_principal(session, claims, organisation_claim, roles_claim)
    try:
        subject = uuid.UUID(str(claims["sub"]))
    except (KeyError, ValueError) as exc:
        raise AuthenticationFailed("malformed subject") from exc
    if claims.get("kind") == "user":
        generation = claims.get("gen")
        return await user_principal(session, subject, generation=generation if isinstance(generation, int) else -1)
    if claims.get("kind") == "client":
        found_client = await organisations.credentials(session, "client", subject)
        if found_client is None:
            raise AuthenticationFailed("client disabled or removed")
        generation = claims.get("gen", 0)
        return _current_principal(
            PrincipalKind.client,
            subject,
            found_client,
            generation=generation if isinstance(generation, int) else -1,
            disabled="client disabled or removed",
        )
    raise AuthenticationFailed("unknown token kind")


async def _external_principal(
    session: AsyncSession, claims: dict[str, Any], organisation_claim: str, roles_claim: str
) -> Principal:
    return await external_principal(
        session,
        subject=str(claims["sub"]),
        organisation_code=claims.get(organisation_claim),
        roles=claims.get(roles_claim),
    )


async def external_principal(
    session: AsyncSession, *, subject: str, organisation_code: object, roles: object
) -> Principal:
    """An OIDC user (a bearer token's claims, or the console's sign-in with the issuer, and the
    session that follows it): organisation by code from a claim; only roles valid there are kept,
    and never `admin`. Claims naming `auditor` or `admin` with any other role are refused."""
    code = organisation_code
    organisation = await organisations.organisation_by_code(session, code) if isinstance(code, str) else None
    if organisation is None:
        raise AuthenticationFailed("external token names no known organisation")
    kind = OrganisationKind(organisation.kind)
    named = [Role(role) for role in (roles if isinstance(roles, list) else []) if role in Role.__members__]
    if mixes_duties(named):
        raise AuthenticationFailed(f"invalid token: {MIXED_DUTIES}")
    kept = [role for role in named if role is not Role.admin and role_allowed_in(role, kind)]
    if not kept:
        raise AuthenticationFailed("external token carries no role valid in its organisation")
    codes = (await organisations.municipality_codes(session, [organisation.id]))[organisation.id]
    return Principal(
        id=f"oidc:{subject}"[:200],
        kind=PrincipalKind.external,
        roles=frozenset(kept),
        organisation_id=organisation.id,
        organisation_kind=kind,
        municipality_codes=frozenset(codes),
    )


async def describe(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    """What `/me` shows: the principal, its organisation, roles and purposes."""
    username = None
    if principal.kind is PrincipalKind.user:
        found = await organisations.user_with_organisation(session, uuid.UUID(principal.id))
        username = found[0].username if found else None
    organisation = None
    if principal.organisation_id is not None:
        org = await organisations.get_organisation(session, principal.organisation_id)
        if org is not None:
            organisation = {
                "id": org.id,
                "code": org.code,
                "kind": org.kind,
                "name": org.name,
                "municipality_codes": sorted(principal.municipality_codes),
            }
    return {
        "id": principal.id,
        "kind": principal.kind,
        "username": username,
        "roles": sorted(principal.roles),
        "organisation": organisation,
        "allowed_purposes": principal.allowed_purposes,
        "default_purpose": principal.default_purpose,
    }
