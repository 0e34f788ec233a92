"""ASGI middleware: request id, body size limit, access log line and Prometheus metrics.

Pure ASGI (not BaseHTTPMiddleware) so streaming bodies pass through untouched.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.context import RequestFacts, set_current_request

REQUESTS = Counter(
    "obhvat_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
LATENCY = Histogram(
    "obhvat_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
#: API paths are answered with problems before the app sees an oversized body; console pages
#: (every other path) read it through a receive that refuses, so the page can say what happened
API_PREFIX = "/api/"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
log = structlog.get_logger("service.http")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds {limit} bytes")


class RequestMiddleware:
    """Binds the request id (honouring a well-formed `X-Request-ID`), enforces the body limit,
    echoes the id, and writes one log line and metrics per request."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_csv_body: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_csv_body = max_csv_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        offered = headers.get("x-request-id", "")
        request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        client = scope.get("client")
        client_address = client[0] if client else None
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        set_current_request(RequestFacts(request_id=request_id, client_address=client_address))
        scope.setdefault("state", {})["request_id"] = request_id

        limit = self.max_csv_body if scope["path"].endswith("/csv") else self.max_body
        declared = headers.get("content-length")
        received = 0
        status = 500
        started = time.perf_counter()

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in response_headers):
                    response_headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = response_headers
            await send(message)

        async def refused_receive() -> Message:
            raise BodyTooLarge(limit)

        oversized = declared is not None and declared.isdigit() and int(declared) > limit
        try:
            if oversized and not scope["path"].startswith(API_PREFIX):
                # a console form: the page that reads the body answers with a page people can
                # read; nothing of the body is read
                await self.app(scope, refused_receive, send_with_id)
            elif oversized:
                await _send_problem(send_with_id, 413, "payload-too-large", "Payload too large",
                                    f"request body exceeds {limit} bytes", request_id, scope["path"])
            elif b"%00" in scope.get("query_string", b"").lower():
                await _send_problem(send_with_id, 400, "bad-request", "Bad request",
                                    "the query string contains a NUL character", request_id, scope["path"])
            else:
                await self.app(scope, limited_receive, send_with_id)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, elapsed: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        REQUESTS.labels(method, template, str(status)).inc()
        LATENCY.labels(method, template).observe(elapsed)
        state: dict[str, Any] = scope.get("state", {})
        principal = state.get("principal")
        log.info(
            "request",
            method=method,
            route=template,
            status=status,
            duration_ms=round(elapsed * 1000, 2),
            principal_id=getattr(principal, "id", None),
            organisation_id=str(getattr(principal, "organisation_id", None) or "") or None,
        )


async def _send_problem(
    send: Send, status: int, slug: str, title: str, detail: str, request_id: str, path: str
) -> None:
    """A problem answered before the application sees the request."""
    body = json.dumps(
        {
            "type": f"urn:obhvat:problem:{slug}",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": path,
            "request_id": request_id,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
