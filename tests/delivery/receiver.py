"""A real HTTP receiver on 127.0.0.1 for webhook tests: answers from a script of status codes
and records every request (optionally slowly, like a busy agency system)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    url: str
    script: list[int]
    requests: list[Received] = field(default_factory=list)
    default_status: int = 204

    def next_status(self) -> int:
        return self.script.pop(0) if self.script else self.default_status


@contextmanager
def receiver(
    script: list[int] | None = None, *, delay: float = 0.0, default_status: int = 204
) -> Iterator[Receiver]:
    """`script`: status codes to answer in turn, then `default_status`; `delay`: seconds each
    request takes to answer (it is recorded on arrival, before the wait)."""
    state = Receiver(url="", script=list(script or []), default_status=default_status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = state.next_status()
            state.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body, status))
            if delay:
                time.sleep(delay)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/obhvat"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
