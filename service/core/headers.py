"""Security headers on every response, in one place.

- `Cache-Control: no-store` on every response except the public documents (the JWKS and the
  OpenAPI description and its viewers): nothing else may sit in a browser's or a proxy's cache,
  since almost every answer of this API carries child data or says something about a child, and a
  rule that lists the sensitive paths would miss the next one added.
- `X-Content-Type-Options: nosniff` on every response.
- `Strict-Transport-Security` in production only (development runs over plain HTTP).

Pure ASGI, so streamed bodies (the audit export) pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=31536000; includeSubDomains"


def security_headers(path: str, *, public_paths: frozenset[str], production: bool) -> list[tuple[bytes, bytes]]:
    """The headers the response to `path` carries (also used for the bare 500, which is sent
    from outside every middleware)."""
    headers = [(b"x-content-type-options", b"nosniff")]
    if path not in public_paths:
        headers.append((b"cache-control", b"no-store"))
    if production:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeadersMiddleware:
    """Adds `security_headers` to every HTTP response, replacing any value a route set."""

    def __init__(self, app: ASGIApp, *, public_paths: Iterable[str], production: bool) -> None:
        self.app = app
        self.public_paths = frozenset(public_paths)
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = security_headers(scope["path"], public_paths=self.public_paths, production=self.production)
        names = {name for name, _ in added}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + added
            await send(message)

        await self.app(scope, receive, send_with_headers)
