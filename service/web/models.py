"""The console's server-side sessions: the cookie holds a random token, the table its hash."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Uuid
from sqlmodel import Field, SQLModel

from service.core.database import UtcDateTime


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"

    id: str = Field(sa_column=Column(String(64), primary_key=True), description="SHA-256 of the cookie's token")
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    token_generation: int = Field(description="the user's generation at sign-in; revoking tokens ends sessions")
    csrf_token: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
