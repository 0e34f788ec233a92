"""Request and response bodies of the organisations, users and clients API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from service.access.vocabulary import OrganisationKind, Role
from service.core.schemas import RequestModel

OrganisationCode = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
]
MunicipalityCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}[0-9]{2}$")]
Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()/-]{3,28}[0-9]$")]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]


class _Strict(RequestModel):
    """A request body."""


class OrganisationCreate(_Strict):
    code: OrganisationCode
    kind: OrganisationKind
    name: DisplayName
    municipality_codes: list[MunicipalityCode] = Field(min_length=1, max_length=300)
    phone: Phone | None = Field(default=None, description="the organisation's duty phone, e.g. +359 431 6 23 45")
    email: Email | None = Field(default=None, description="the organisation's inbox for other agencies")


class OrganisationUpdate(_Strict):
    name: DisplayName | None = None
    municipality_codes: list[MunicipalityCode] | None = Field(
        default=None, min_length=1, max_length=300
    )
    phone: Phone | None = Field(default=None, description="absent: unchanged; null: removed")
    email: Email | None = Field(default=None, description="absent: unchanged; null: removed")


class OrganisationRead(BaseModel):
    id: uuid.UUID
    code: str
    kind: OrganisationKind
    name: str
    municipality_codes: list[str]
    phone: str | None = None
    email: str | None = None
    created_at: datetime


class UserCreate(_Strict):
    username: Username
    password: Password
    organisation_id: uuid.UUID | None = None
    roles: list[Role] = Field(min_length=1, max_length=8)


class UserUpdate(_Strict):
    password: Password | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=8)
    disabled: bool | None = None


class UserRead(BaseModel):
    id: uuid.UUID
    username: str
    organisation_id: uuid.UUID | None
    roles: list[Role]
    disabled: bool
    created_at: datetime


class ClientCreate(_Strict):
    name: DisplayName
    organisation_id: uuid.UUID
    roles: list[Role] = Field(min_length=1, max_length=8)


class ClientCreated(BaseModel):
    id: uuid.UUID
    name: str
    organisation_id: uuid.UUID
    roles: list[Role]
    client_id: str = Field(description="use as `client_id` with the client_credentials grant")
    client_secret: str = Field(description="shown once; store it now")


class ClientUpdate(_Strict):
    disabled: bool | None = Field(default=None, description="true stops the client's tokens at once")
    rotate_secret: bool = Field(
        default=False, description="true issues a new secret (in this answer only); the old one stops at once"
    )


class ClientRead(BaseModel):
    id: uuid.UUID
    name: str
    organisation_id: uuid.UUID
    roles: list[Role]
    disabled: bool
    created_at: datetime
    client_secret: str | None = Field(
        default=None, description="the new secret after `rotate_secret`, shown once; otherwise null"
    )


class OrganisationPage(BaseModel):
    items: list[OrganisationRead]
    next: str | None


class UserPage(BaseModel):
    items: list[UserRead]
    next: str | None
