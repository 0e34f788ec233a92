"""`CurrentPrincipal`: the authenticated caller, resolved once per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from service.access.principal import Principal
from service.auth.anonymous import AnonymousRequests
from service.auth.gate import VERIFIED_TOKEN
from service.auth.jwt import TokenInvalid
from service.auth.service import principal_from_token
from service.auth.tokens import TokenService, VerifiedToken
from service.core.database import DbSession
from service.core.passwords import Passwords

# The OAuth2 password scheme lets the interactive docs log in with a username and password.
_bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="a token from POST /api/v1/auth/token",
)


# async, like every dependency here: FastAPI runs a plain `def` one in a thread pool, a hop per request
async def get_token_service(request: Request) -> TokenService:
    service: TokenService = request.app.state.tokens
    return service


async def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


Tokens = Annotated[TokenService, Depends(get_token_service)]
AppPasswords = Annotated[Passwords, Depends(get_passwords)]


async def _current_principal(
    request: Request,
    session: DbSession,
    tokens: Tokens,
    bearer_token: Annotated[str | None, Depends(_bearer)],
) -> Principal:
    # no valid credentials: throttled and counted per address, before any database work
    anonymous: AnonymousRequests = request.app.state.anonymous_requests
    address = request.client.host if request.client else None
    if not bearer_token:
        raise anonymous.refuse(address)
    # the gate (service/auth/gate.py) verified it before routing, unless the app runs without it
    verified: VerifiedToken | None = getattr(request.state, VERIFIED_TOKEN, None)
    if verified is None:
        try:
            verified = await tokens.verify(bearer_token)
        except TokenInvalid:
            raise anonymous.refuse(address) from None
    principal = await principal_from_token(
        session,
        verified,
        organisation_claim=tokens.settings.oidc_organisation_claim,
        roles_claim=tokens.settings.oidc_roles_claim,
    )
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_current_principal, scope="function")]
