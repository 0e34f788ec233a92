"""Schools' monthly absence figures per pupil, the batches that brought them, and the threshold
rules that turn figures into alerts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String
from sqlmodel import Field, SQLModel

from service.core.clock import utcnow
from service.core.database import UtcDateTime


class AbsenceReport(SQLModel, table=True):
    """One school's figure for one pupil and month; re-sending replaces it."""

    __tablename__ = "absence_report"
    __table_args__ = (
        Index("uq_absence_report_school_child_month", "school_id", "child_id", "month", unique=True),
        Index("ix_absence_report_child_id_month", "child_id", "month"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organisation.id"), nullable=False))
    child_id: uuid.UUID = Field(sa_column=Column(ForeignKey("child.id"), nullable=False))
    month: str = Field(max_length=7)
    unexcused_hours: int
    excused_hours: int
    #: what the two figures count: `hours` (schools) or `days` (kindergartens, pupils of grade 0)
    unit: str = Field(default="hours", sa_column=Column(String(10), nullable=False, server_default="hours"))
    batch_id: uuid.UUID = Field(sa_column=Column(ForeignKey("absence_batch.id"), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class AbsenceBatch(SQLModel, table=True):
    __tablename__ = "absence_batch"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organisation.id"), nullable=False, index=True))
    submitted_by: str = Field(max_length=200)
    source: str = Field(max_length=10)
    rows_accepted: int
    alerts_raised: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    alerts_updated: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class AbsenceRule(SQLModel, table=True):
    """Unexcused hours above `threshold_hours` in one month raise `alert_type`; with
    `months` > 1, that many such months in one school year do."""

    __tablename__ = "absence_rule"

    name: str = Field(sa_column=Column(String(50), primary_key=True))
    alert_type: str = Field(max_length=50)
    severity: str = Field(max_length=10)
    threshold_hours: int
    months: int = 1
    enabled: bool = True
    #: `hours` rules judge schools' figures, `days` rules kindergartens' (`threshold_hours` then counts days)
    unit: str = Field(default="hours", sa_column=Column(String(10), nullable=False, server_default="hours"))
