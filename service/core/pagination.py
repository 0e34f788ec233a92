"""Keyset pagination: opaque cursors, the `limit` parameter and the `Link` header."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query, Request, Response

from service.core.problems import ValidationProblem

#: the largest position a feed or the chain can reach (a signed 64-bit integer in both engines)
MAX_POSITION = 2**63 - 1
#: the longest text key (a username or an organisation code) a cursor can carry
MAX_TEXT_KEY = 200

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
        raise _foreign_cursor(parameter)
    return key


def position_after(cursor: str | None) -> int:
    """The feed or chain position a cursor stands for (0 without a cursor)."""
    key = decode_cursor(cursor)
    if key is None:
        return 0
    if not isinstance(key[0], int) or isinstance(key[0], bool) or not 0 <= key[0] <= MAX_POSITION:
        raise _foreign_cursor("after")
    return key[0]


def position_and_id_before(cursor: str | None) -> tuple[int, uuid.UUID] | None:
    """The (position, id) keyset position a newest-first cursor stands for."""
    key = decode_cursor(cursor, length=2)
    if key is None:
        return None
    position, identifier = key
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= MAX_POSITION:
        raise _foreign_cursor("after")
    try:
        return position, uuid.UUID(identifier)
    except (TypeError, ValueError, AttributeError):
        raise _foreign_cursor("after") from None


def position_and_id_cursor(position: tuple[int, uuid.UUID] | None) -> str | None:
    return encode_cursor([position[0], str(position[1])]) if position else None


def text_after(cursor: str | None) -> str | None:
    """The text key (a username, an organisation code) an alphabetical cursor stands for."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    if not isinstance(key[0], str) or not 0 < len(key[0]) <= MAX_TEXT_KEY:
        raise _foreign_cursor("after")
    return key[0]


def time_and_id_before(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (timestamp, id) keyset position a newest-first cursor stands for."""
    return _time_and_id(cursor)


def time_and_id_after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (timestamp, id) keyset position an oldest-first cursor stands for."""
    return _time_and_id(cursor)


def _time_and_id(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    key = decode_cursor(cursor, length=2)
    if key is None:
        return None
    try:
        moment = datetime.fromisoformat(key[0])
        if moment.tzinfo is None:
            raise ValueError("a cursor's time has a zone")
        return moment.astimezone(UTC), uuid.UUID(key[1])
    except (TypeError, ValueError, AttributeError, OverflowError):
        raise _foreign_cursor("after") from None


def time_and_id_cursor(position: tuple[datetime, uuid.UUID] | None) -> str | None:
    return encode_cursor([position[0].isoformat(), str(position[1])]) if position else None


def _foreign_cursor(parameter: str) -> ValidationProblem:
    return ValidationProblem(
        "cursor is not one this service issued",
        errors=[{"parameter": parameter, "detail": "invalid cursor"}],
    )


def link_next(request: Request, response: Response, next_cursor: str | None, *, parameter: str = "after") -> None:
    """Add `Link: <...>; rel="next"` when there is a next page, at the service's public address
    (never the request's Host header, which the client chooses)."""
    if next_cursor is None:
        return
    public = request.app.state.settings.effective_public_url
    query = request.url.include_query_params(**{parameter: next_cursor}).query
    response.headers["Link"] = f'<{public}{request.url.path}?{query}>; rel="next"'


def flag_time_and_id_after(cursor: str | None) -> tuple[bool, datetime, uuid.UUID] | None:
    """The (flag, timestamp, id) keyset position of a list ordered flagged first, then oldest
    (a person's cases: overdue first)."""
    key = decode_cursor(cursor, length=3)
    if key is None:
        return None
    if not isinstance(key[0], bool):
        raise _foreign_cursor("after")
    try:
        moment = datetime.fromisoformat(key[1])
        if moment.tzinfo is None:
            raise ValueError("a cursor's time has a zone")
        return key[0], moment.astimezone(UTC), uuid.UUID(key[2])
    except (TypeError, ValueError, AttributeError, OverflowError):
        raise _foreign_cursor("after") from None


def flag_time_and_id_cursor(position: tuple[bool, datetime, uuid.UUID] | None) -> str | None:
    return encode_cursor([position[0], position[1].isoformat(), str(position[2])]) if position else None
