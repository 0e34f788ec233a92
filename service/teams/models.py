"""Teams and their members."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String
from sqlmodel import Field, SQLModel

from service.core.clock import utcnow
from service.core.database import UtcDateTime


class Team(SQLModel, table=True):
    """A joint enrolment team: the municipality and EKATTE settlements it covers (none listed:
    the whole municipality) and the organisation that leads it."""

    __tablename__ = "team"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(sa_column=Column(String(60), nullable=False, unique=True))
    name: str = Field(max_length=200)
    municipality_code: str = Field(max_length=10, index=True)
    settlement_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    lead_organisation_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organisation.id"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class TeamMember(SQLModel, table=True):
    """A user on a team, of whatever organisation: membership is a relationship, not a role."""

    __tablename__ = "team_member"
    __table_args__ = (
        Index("uq_team_member_team_id_user_id", "team_id", "user_id", unique=True),
        # "which teams am I on", asked by every list of alerts a member reads
        Index("ix_team_member_user_id_team_id", "user_id", "team_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    team_id: uuid.UUID = Field(sa_column=Column(ForeignKey("team.id"), nullable=False))
    user_id: uuid.UUID = Field(sa_column=Column(ForeignKey("app_user.id"), nullable=False))
    added_by: str = Field(max_length=200)
    added_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
