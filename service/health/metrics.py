"""Who may read the Prometheus metrics, and the separate listener that serves them on their own
port (`OBHVAT_METRICS_PORT`).

In production the API's own `/metrics` answers only a caller holding `OBHVAT_METRICS_TOKEN`; with
a metrics port it answers 404 (the port is the one place to scrape), and with neither it answers
404 too, so metrics are never public by default. Development keeps `/metrics` open unless a
token is set.
"""

from __future__ import annotations

import hmac
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.exposition import ThreadingWSGIServer

from service.core.settings import Environment, Settings


def bearer_matches(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


def served_by_api(settings: Settings) -> bool:
    """Whether the API's own `/metrics` exists at all (else it is a 404)."""
    if settings.environment is not Environment.production:
        return True
    return settings.metrics_port is None and settings.metrics_token is not None


class _Server(ThreadingWSGIServer):
    """Every API worker process binds the same metrics port (SO_REUSEPORT), as they share the
    API's port; each reports its own counters, as on the API's port."""

    def server_bind(self) -> None:
        if hasattr(socket, "SO_REUSEPORT"):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        return None


def _metrics_app(token: str | None) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if token is not None and not bearer_matches(environ.get("HTTP_AUTHORIZATION"), token):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"unauthorized\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [generate_latest()]

    return app


@dataclass
class MetricsListener:
    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_listener(host: str, port: int, *, token: str | None) -> MetricsListener:
    """Serve `/metrics` (and nothing else) on `host:port` from a background thread."""
    server = make_server(host, port, _metrics_app(token), server_class=_Server, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="obhvat-metrics", daemon=True)
    thread.start()
    return MetricsListener(server, thread)
