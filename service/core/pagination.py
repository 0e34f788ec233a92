"""Keyset pagination: opaque cursors, the `limit` parameter and the `Link` header."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Query, Request, Response

from service.core.problems import ValidationProblem

Limit = Annotated[int, Query(ge=1, le=200, description="page size, at most 200")]
CursorParam = Annotated[
    str | None, Query(max_length=500, description="`next` of the previous page")
]


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, parameter: str = "after", length: int = 1) -> list[Any] | None:
    """The key a cursor stands for; a cursor not made by `encode_cursor` is a 422."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != length:
        raise ValidationProblem(
            "cursor is not one this service issued",
            errors=[{"parameter": parameter, "detail": "invalid cursor"}],
        )
    return key


def link_next(request: Request, response: Response, next_cursor: str | None, *, parameter: str = "after") -> None:
    """Add `Link: <...>; rel="next"` when there is a next page."""
    if next_cursor is None:
        return
    url = request.url.include_query_params(**{parameter: next_cursor})
    response.headers["Link"] = f'<{url}>; rel="next"'
