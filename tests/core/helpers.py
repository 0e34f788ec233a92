"""Shared checks for the core tests: the RFC 9457 problem shape and reading this test's logs."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.conftest import RUN_LOG

PROBLEM_JSON = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with the given status; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM_JSON, response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("type"), str) and body["type"], body
    assert isinstance(body.get("title"), str) and body["title"], body
    assert body.get("status") == status and isinstance(body["status"], int), body
    return body


def pointers(body: dict[str, Any]) -> list[str]:
    return [e.get("pointer") for e in body.get("errors", []) if "pointer" in e]


class LogCapture:
    """Everything the app logged between `start()` and `text` / `lines()`."""

    def __init__(self) -> None:
        self.offset = len(RUN_LOG.getvalue())

    @property
    def text(self) -> str:
        return RUN_LOG.getvalue()[self.offset :]

    def lines(self) -> list[dict[str, Any]]:
        parsed = []
        for raw in self.text.splitlines():
            if raw.strip():
                parsed.append(json.loads(raw))
        return parsed

    def requests(self, request_id: str | None = None) -> list[dict[str, Any]]:
        return [
            line for line in self.lines()
            if line.get("event") == "request"
            and (request_id is None or line.get("request_id") == request_id)
        ]
