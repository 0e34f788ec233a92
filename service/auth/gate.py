"""The bearer token of an API request, checked before routing.

Every API operation but the token endpoint needs a bearer token (tests/auth/test_bearer_gate.py
holds the OpenAPI document to that). A request that carries one which cannot be trusted is
refused here, as `CurrentPrincipal` would refuse it, but before routing, dependencies or any
database work: so a flood of garbage tokens costs little more than reading the request. A
verified token is kept in the request's state, so the principal dependency does not verify it
again. Requests without an Authorization header, and the token endpoint, pass untouched.

A refusal past the address's allowance (429) is held back for a moment before it is sent: a
client that ignores Retry-After and asks again at once then waits instead of taking the CPU
that requests with valid tokens need."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from service.auth.anonymous import AnonymousRequests, AnonymousThrottled
from service.auth.jwt import TokenInvalid
from service.auth.tokens import TokenService
from service.core.database import API_PREFIX
from service.core.problems import Problem, problem_response

#: the one API operation without a bearer token: where tokens are obtained
TOKEN_PATH = f"{API_PREFIX}/auth/token"
#: the request state's key for the token the gate verified
VERIFIED_TOKEN = "verified_token"  # noqa: S105 - a name, not a secret


def bearer_token(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer` header; None when there is no such header."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


class BearerGate:
    def __init__(self, app: ASGIApp, *, tokens: TokenService, anonymous: AnonymousRequests) -> None:
        self.app = app
        self.tokens = tokens
        self.anonymous = anonymous

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(API_PREFIX + "/") or path == TOKEN_PATH:
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        if token is None:  # no token at all: the principal dependency answers as before
            await self.app(scope, receive, send)
            return
        try:
            verified = await self.tokens.verify(token)
        except TokenInvalid:
            client = scope.get("client")
            await self._refuse(self.anonymous.refuse(client[0] if client else None), scope, receive, send)
            return
        scope.setdefault("state", {})[VERIFIED_TOKEN] = verified
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(problem: Problem, scope: Scope, receive: Receive, send: Send) -> None:
        if isinstance(problem, AnonymousThrottled):
            await asyncio.sleep(problem.hold_seconds)
        await problem_response(problem, Request(scope))(scope, receive, send)
