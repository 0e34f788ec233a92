"""A person's e-mail notice preferences: the address, the language, which events, and whether
non-urgent notices come at once or in a daily digest."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey
from sqlmodel import Field, SQLModel

from service.core.clock import utcnow
from service.core.database import UtcDateTime


class NoticePreference(SQLModel, table=True):
    __tablename__ = "notice_preference"

    user_id: uuid.UUID = Field(sa_column=Column(ForeignKey("app_user.id"), primary_key=True))
    email: str | None = Field(default=None, max_length=254)
    language: str = Field(default="bg", max_length=2)
    #: the NoticeEvent values the person asked for
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    #: None: every notice at once; else non-urgent notices in one e-mail a day at this local hour
    digest_hour: int | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
