"""Request and response bodies of `/me/notifications`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from service.core.schemas import RequestModel
from service.notices.events import NoticeEvent

#: a plain address (local@domain); the mail server is the judge of the rest
_ADDRESS = r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$"
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=_ADDRESS)]


class NoticePreferences(RequestModel):
    email: Email | None = Field(default=None, description="where notices go; none: no e-mail is sent")
    language: Literal["bg", "en"] = "bg"
    events: list[NoticeEvent] = Field(max_length=len(NoticeEvent), description="which notices to get")
    digest_hour: int | None = Field(
        default=None,
        ge=0,
        le=23,
        description="none: every notice at once; else non-urgent notices in one daily e-mail at this local hour",
    )


class NoticePreferencesRead(BaseModel):
    email: str | None
    language: Literal["bg", "en"]
    events: list[NoticeEvent]
    digest_hour: int | None
    #: urgent alerts come at once even with a digest
    urgent_immediately: bool = True
