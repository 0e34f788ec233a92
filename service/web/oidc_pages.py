"""Signing in to the console with the external OpenID Connect issuer, when one is configured.

`/login/oidc` sends the browser to the issuer with a new state, nonce and PKCE challenge (the
state also goes into a cookie of this browser, the rest into `oidc_sign_in`); the issuer sends it
back to `/login/oidc/callback`. There the state must match the cookie and a sign-in under way (used
once, for ten minutes), the code is exchanged with the verifier, the ID token verified, and the
person mapped to an organisation and roles exactly as the API maps a bearer token of that issuer.
The throttling and audit are the token endpoint's: a callback without a valid state is a request
without valid credentials (counted per address and minute), a refused code, ID token or identity
is a failed login (audited, counted against the address, answered late). Every failure is a page
saying what happened and how to start again."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from service.access.policy import audit_entry_of
from service.access.principal import ANONYMOUS, Principal, PrincipalKind
from service.audit.service import AuditRecord, record
from service.auth import service as auth
from service.auth import throttle
from service.auth.anonymous import AnonymousRequests
from service.auth.jwt import TokenInvalid
from service.core.clock import utcnow
from service.core.database import DbSession
from service.core.problems import NotFound, TooManyRequests
from service.web import repository, sessions
from service.web.auth_pages import local_path, set_cookie
from service.web.models import OidcSignIn
from service.web.oidc import CALLBACK_PATH, IssuerUnavailable, OidcClient, known_error, new_attempt
from service.web.rendering import renderer
from service.web.sessions import SESSION_COOKIE, ExternalIdentity

router = APIRouter(include_in_schema=False, tags=["console"])
log = structlog.get_logger()

#: the browser's half of a sign-in under way: its state
OIDC_COOKIE = "obhvat_oidc"
OIDC_SIGN_IN_LIFETIME = timedelta(minutes=10)
#: the name failed sign-ins with the issuer are counted under (with the address, as the token
#: endpoint counts a username): the person is not known until the ID token is verified
THROTTLE_NAME = "openid-connect"
THROTTLE_KIND = "oidc"
MAX_ROLES = 20


def oidc_client(request: Request) -> OidcClient | None:
    client: OidcClient | None = getattr(request.app.state, "console_oidc", None)
    return client


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def failure_page(request: Request, reason: str, *, status: int) -> Response:
    """A page saying why the sign-in with the issuer did not happen; the browser's half of the
    sign-in is dropped."""
    response = renderer(request).page(request, "oidc_error.html", {"reason": reason, "person": None}, status=status)
    response.delete_cookie(OIDC_COOKIE, path="/")
    return response


@router.get("/login/oidc")
async def start(request: Request, session: DbSession, next: str | None = None) -> Response:  # noqa: A002
    client = oidc_client(request)
    if client is None:
        raise NotFound("sign-in with an OpenID Connect issuer is not configured")
    attempt = new_attempt()
    try:
        target = await client.authorization_url(attempt)
    except IssuerUnavailable as exc:
        log.warning("oidc_issuer_unavailable", reason=str(exc))
        return failure_page(request, "unavailable", status=502)
    now = utcnow()
    await repository.add_oidc_sign_in(
        session,
        OidcSignIn(
            id=_digest(attempt.state),
            nonce=attempt.nonce,
            code_verifier=attempt.code_verifier,
            next_path=local_path(next),
            created_at=now,
        ),
        expired_before=now - OIDC_SIGN_IN_LIFETIME,
    )
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, OIDC_COOKIE, attempt.state, max_age=int(OIDC_SIGN_IN_LIFETIME.total_seconds()))
    return response


def _without_credentials(request: Request, reason: str) -> Response:
    """A callback that proves nothing: counted with the address's requests without valid
    credentials (throttled past its burst), not audited one by one."""
    anonymous: AnonymousRequests = request.app.state.anonymous_requests
    refused = anonymous.refuse(request.client.host if request.client else None)
    if isinstance(refused, TooManyRequests):
        raise refused
    return failure_page(request, reason, status=400)


def _identity(claims: dict[str, Any], organisation_claim: str, roles_claim: str) -> ExternalIdentity:
    organisation = claims.get(organisation_claim)
    roles = claims.get(roles_claim)
    return ExternalIdentity(
        subject=str(claims["sub"])[:200],
        organisation_code=organisation[:200] if isinstance(organisation, str) else "",
        roles=tuple(role[:50] for role in (roles if isinstance(roles, list) else []) if isinstance(role, str))[
            :MAX_ROLES
        ],
    )


@router.get(CALLBACK_PATH)
async def callback(
    request: Request,
    session: DbSession,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
) -> Response:
    client = oidc_client(request)
    if client is None:
        raise NotFound("sign-in with an OpenID Connect issuer is not configured")
    address = request.client.host if request.client else None
    if state is None or not sessions.same_token(state, request.cookies.get(OIDC_COOKIE)):
        return _without_credentials(request, "state")
    pending = await repository.take_oidc_sign_in(session, _digest(state))
    if pending is None:
        return _without_credentials(request, "state")
    if utcnow() - pending.created_at > OIDC_SIGN_IN_LIFETIME:
        return _without_credentials(request, "expired")
    if error is not None or not code:
        told = known_error(error) if error is not None else "no code"
        await record(
            session,
            AuditRecord(
                actor=ANONYMOUS, action="login", decision="deny",
                reason=f"OpenID Connect issuer did not sign the person in: {told}",
            ),
        )
        return failure_page(request, "denied" if told == "access_denied" else "refused", status=403)

    keys = throttle.keys_for(THROTTLE_NAME, address, kind=THROTTLE_KIND)
    wait = await throttle.retry_after(session, keys)
    if wait is not None:
        raise request.app.state.anonymous_requests.throttled(address, auth.LoginThrottled(wait))
    try:
        answer = await client.exchange(code[:2000], pending.code_verifier)
        access_token = answer.get("access_token")
        claims = await client.verify_id_token(
            answer["id_token"], nonce=pending.nonce,
            access_token=access_token if isinstance(access_token, str) else None,
        )
    except IssuerUnavailable as exc:
        log.warning("oidc_issuer_unavailable", reason=str(exc))
        return failure_page(request, "unavailable", status=502)
    except TokenInvalid as exc:
        failed = auth.LoginFailed(f"OpenID Connect sign-in refused: {exc}"[:200])
        failed.throttle_keys = keys
        raise failed from None
    settings = request.app.state.settings
    identity = _identity(claims, settings.oidc_organisation_claim, settings.oidc_roles_claim)
    try:
        principal = await auth.external_principal(
            session, subject=identity.subject, organisation_code=identity.organisation_code or None,
            roles=list(identity.roles),
        )
    except auth.AuthenticationFailed as refused:
        actor = Principal(id=f"oidc:{identity.subject}"[:200], kind=PrincipalKind.external, roles=frozenset())
        entry = audit_entry_of(refused)
        why = entry.reason if entry is not None else "identity refused"
        failed = auth.LoginFailed(f"OpenID Connect sign-in refused: {why}"[:200], actor=actor)
        failed.throttle_keys = keys
        raise failed from None
    await throttle.record_success(session, THROTTLE_NAME, address, kind=THROTTLE_KIND)
    token = await sessions.sign_in(
        session,
        principal=principal,
        generation=0,
        previous_token=request.cookies.get(SESSION_COOKIE),
        now=utcnow(),
        external=identity,
    )
    await record(
        session,
        AuditRecord(actor=principal, action="login", decision="allow", reason="console sign-in with OpenID Connect"),
    )
    response = RedirectResponse(local_path(pending.next_path), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token)
    response.delete_cookie(OIDC_COOKIE, path="/")
    return response
