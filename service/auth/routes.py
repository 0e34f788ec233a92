"""The OAuth2 token endpoint, the public JWKS and `/me`."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request

from service.access.policy import require
from service.access.vocabulary import Action
from service.audit.service import AuditRecord, record
from service.auth import service, throttle
from service.auth.dependencies import AppPasswords, CurrentPrincipal, Tokens
from service.auth.schemas import Me, TokenResponse
from service.core.database import DbSession, api_router
from service.core.problems import BadRequest, TooManyRequests, Unauthenticated, ValidationProblem, problem_responses

router = api_router(tags=["auth"])
well_known = APIRouter(tags=["auth"])
JWKS_PATH = "/.well-known/jwks.json"

FormField = Annotated[str | None, Form(max_length=500)]


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise BadRequest("malformed Basic credentials") from None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _missing(*names: str) -> ValidationProblem:
    return ValidationProblem(
        "missing " + ", ".join(names),
        errors=[{"pointer": f"#/{n}", "detail": "field required"} for n in names],
    )


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    responses=problem_responses(BadRequest, Unauthenticated, ValidationProblem, TooManyRequests),
    summary="OAuth2 token endpoint (password and client_credentials grants)",
)
async def issue_token(
    request: Request,
    session: DbSession,
    tokens: Tokens,
    passwords: AppPasswords,
    grant_type: Annotated[str | None, Form(max_length=50)] = None,
    username: FormField = None,
    password: FormField = None,
    client_id: FormField = None,
    client_secret: FormField = None,
) -> TokenResponse:
    fields = {"username": username, "password": password, "client_id": client_id, "client_secret": client_secret}
    broken = [name for name, value in fields.items() if value is not None and "\x00" in value]
    if broken:
        raise ValidationProblem(
            "form fields must not contain a NUL character",
            errors=[{"pointer": f"#/{name}", "detail": "contains a NUL character"} for name in broken],
        )
    if not grant_type:
        # RFC 6749 §5.2: a missing parameter is invalid_request, told as OAuth2 clients expect
        raise BadRequest("grant_type is required (password or client_credentials)", error="invalid_request")
    if grant_type == "password":
        if not username or not password:
            raise _missing(*[n for n, v in (("username", username), ("password", password)) if not v])
        address = request.client.host if request.client else None
        try:
            principal, generation = await service.password_login(
                session, username=username, password=password, address=address, passwords=passwords
            )
        except service.LoginThrottled as throttled:
            raise request.app.state.anonymous_requests.throttled(address, throttled) from None
        kind = "user"
    elif grant_type == "client_credentials":
        basic = _basic_credentials(request)
        if basic:
            client_id, client_secret = basic
        if not client_id or not client_secret:
            raise _missing(*[n for n, v in (("client_id", client_id), ("client_secret", client_secret)) if not v])
        address = request.client.host if request.client else None
        keys = throttle.keys_for(client_id, address, kind="client")
        wait = await throttle.retry_after(session, keys)
        if wait is not None:
            raise request.app.state.anonymous_requests.throttled(address, service.LoginThrottled(wait))
        try:
            principal, generation = await service.login_with_client_secret(
                session, client_id=client_id, client_secret=client_secret, passwords=passwords
            )
        except service.LoginFailed as failed:
            failed.throttle_keys = keys
            raise
        await throttle.record_success(session, client_id, address, kind="client")
        kind = "client"
    else:
        raise BadRequest("grant_type must be password or client_credentials", error="unsupported_grant_type")
    token, lifetime = tokens.issue(
        subject=uuid.UUID(principal.id),
        kind=kind,
        organisation_id=principal.organisation_id,
        roles=sorted(principal.roles),
        generation=generation,
    )
    await record(
        session,
        AuditRecord(actor=principal, action="login", decision="allow", reason=f"{grant_type} grant"),
    )
    return TokenResponse(access_token=token, expires_in=lifetime)


@well_known.get(JWKS_PATH, summary="Public keys that verify the service's tokens")
async def jwks(tokens: Tokens) -> dict[str, Any]:
    return tokens.keys.jwks()


@router.get(
    "/me",
    response_model=Me,
    responses=problem_responses(Unauthenticated),
    summary="The caller: principal, organisation, roles and allowed purposes",
)
async def me(session: DbSession, principal: CurrentPrincipal) -> dict[str, Any]:
    require(principal, Action.read_self)
    return await service.describe(session, principal)
