"""Request and response bodies of teams."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from service.core.schemas import RequestModel

TeamCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$")]
TeamName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MunicipalityCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}[0-9]{2}$")]
#: EKATTE settlement code: five digits
SettlementCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]


class TeamCreate(RequestModel):
    code: TeamCode
    name: TeamName
    municipality_code: MunicipalityCode
    settlement_codes: list[SettlementCode] = Field(
        default_factory=list, max_length=200, description="EKATTE settlements covered; empty: the whole municipality"
    )
    lead_organisation_id: uuid.UUID = Field(description="the municipality or education authority leading the team")


class TeamUpdate(RequestModel):
    name: TeamName | None = None
    settlement_codes: list[SettlementCode] | None = Field(default=None, max_length=200)
    lead_organisation_id: uuid.UUID | None = None


class MemberAdd(RequestModel):
    user_id: uuid.UUID


class MemberRead(BaseModel):
    user_id: uuid.UUID
    username: str
    organisation_id: uuid.UUID | None
    added_at: datetime


class TeamRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    municipality_code: str
    settlement_codes: list[str]
    lead_organisation_id: uuid.UUID
    members: list[MemberRead]
    created_at: datetime
    updated_at: datetime


class TeamPage(BaseModel):
    items: list[TeamRead]
    next: str | None = None
