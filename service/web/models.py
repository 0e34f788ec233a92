"""The console's server-side sessions (the cookie holds a random token, the table its hash),
and the sign-ins with the OpenID Connect issuer that are under way."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, String, Uuid
from sqlmodel import Field, SQLModel

from service.core.database import UtcDateTime


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"

    id: str = Field(sa_column=Column(String(64), primary_key=True), description="SHA-256 of the cookie's token")
    user_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid(), ForeignKey("app_user.id", ondelete="CASCADE"), nullable=True, index=True),
        description="the user; none for a person signed in with the OpenID Connect issuer",
    )
    token_generation: int = Field(description="the user's generation at sign-in; revoking tokens ends sessions")
    csrf_token: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    external_subject: str | None = Field(
        default=None, sa_column=Column(String(200), nullable=True), description="the issuer's `sub`"
    )
    external_organisation: str | None = Field(
        default=None, sa_column=Column(String(200), nullable=True), description="organisation code its ID token named"
    )
    external_roles: list[str] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True), description="the roles its ID token named"
    )


class OidcSignIn(SQLModel, table=True):
    """A sign-in sent to the issuer and not yet back: found again by the SHA-256 of its `state`,
    used once, good for `OIDC_SIGN_IN_LIFETIME`."""

    __tablename__ = "oidc_sign_in"

    id: str = Field(sa_column=Column(String(64), primary_key=True), description="SHA-256 of the state")
    nonce: str = Field(sa_column=Column(String(64), nullable=False))
    code_verifier: str = Field(sa_column=Column(String(128), nullable=False))
    next_path: str = Field(sa_column=Column(String(500), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
