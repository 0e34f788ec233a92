"""Today's date where the service is used (Bulgaria), replaceable in tests via app.state.clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

LOCAL_ZONE = ZoneInfo("Europe/Sofia")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_today() -> date:
    return datetime.now(LOCAL_ZONE).date()


# async, like every dependency here: FastAPI runs a plain `def` one in a thread pool, a hop per request
async def _today(request: Request) -> date:
    clock = getattr(request.app.state, "clock", None) or local_today
    return clock()


Today = Annotated[date, Depends(_today)]
