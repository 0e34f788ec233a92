"""Organisations, the municipalities they serve, and the people and systems that act for them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from service.core.clock import utcnow
from service.core.database import UtcDateTime


def _timestamp() -> Column:
    return Column(UtcDateTime(), nullable=False, default=utcnow)


class Organisation(SQLModel, table=True):
    __tablename__ = "organisation"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    kind: str = Field(max_length=30, index=True)
    name: str = Field(max_length=300)
    #: whom to call: shown in the answer to "is this child known to child protection?"
    phone: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=254)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class OrganisationMunicipality(SQLModel, table=True):
    """A municipality (EKATTE code) an organisation serves; routing looks organisations up here."""

    __tablename__ = "organisation_municipality"

    organisation_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    )
    municipality_code: str = Field(
        sa_column=Column(String(10), primary_key=True, index=True)
    )


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    password_hash: str = Field(max_length=200)
    organisation_id: uuid.UUID | None = Field(
        default=None, foreign_key="organisation.id", index=True
    )
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    disabled: bool = False
    #: raised when the user is disabled or its password changes; older tokens are refused
    token_generation: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class Client(SQLModel, table=True):
    """A system account, such as a school's e-diary, authenticating with a secret."""

    __tablename__ = "api_client"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret_hash: str = Field(max_length=200)
    disabled: bool = False
    #: raised when the client is disabled or its secret rotated; older tokens are refused
    token_generation: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
