"""Guardians' consent to share a child's case with service providers. Withdrawn, never deleted."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, Text
from sqlmodel import Field, SQLModel

from service.core.clock import utcnow
from service.core.database import UtcDateTime


class Consent(SQLModel, table=True):
    __tablename__ = "consent"
    __table_args__ = (Index("ix_consent_child_id_valid_until", "child_id", "valid_until"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    child_id: uuid.UUID = Field(sa_column=Column(ForeignKey("child.id"), nullable=False))
    guardian_name: str | None = Field(default=None, max_length=200)
    guardian_relationship: str = Field(max_length=30)
    purposes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    valid_from: date
    valid_until: date
    evidence: str = Field(max_length=300)
    recorded_by: str = Field(max_length=200)
    recorded_by_organisation_id: uuid.UUID = Field(foreign_key="organisation.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    withdrawn_by: str | None = Field(default=None, max_length=200)
    withdrawal_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ConsentRecipient(SQLModel, table=True):
    """An organisation a consent lets the case be shared with."""

    __tablename__ = "consent_recipient"

    consent_id: uuid.UUID = Field(sa_column=Column(ForeignKey("consent.id"), primary_key=True))
    organisation_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organisation.id"), primary_key=True, index=True))
