"""Children (identified by a keyed hash of their personal number) and school enrolments."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Index, String, text
from sqlmodel import Field, SQLModel

from service.core.clock import utcnow
from service.core.database import UtcDateTime


class Child(SQLModel, table=True):
    """A child. Retention (`service/retention/`) anonymises a child long inactive: the PIN hash,
    names and date of birth become NULL and `anonymised_at` is set; the id stays, so the audit
    trail that names it still verifies."""

    __tablename__ = "child"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    pin_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True, unique=True))
    given_name: str | None = Field(default=None, max_length=100)
    family_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date | None = None
    sex: str = Field(max_length=10)
    #: municipality of the current address (EKATTE); None when unknown
    municipality_code: str | None = Field(default=None, max_length=10, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    anonymised_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class Enrolment(SQLModel, table=True):
    """A child at a school. At most one open-ended enrolment per child (partial unique index).

    A pupil moves to another school as schools do it (DESIGN §3): the sending school releases
    the pupil (the transfer certificate) to a named school, `abroad` or `unknown`; the enrolment
    then ends on the release date, and only the named school (any school after `abroad` or
    `unknown`) may enrol the pupil next."""

    __tablename__ = "enrolment"
    __table_args__ = (
        Index(
            "uq_enrolment_one_current_per_child",
            "child_id",
            unique=True,
            sqlite_where=text("end_date IS NULL"),
            postgresql_where=text("end_date IS NULL"),
        ),
        Index("ix_enrolment_school_id_child_id", "school_id", "child_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    child_id: uuid.UUID = Field(sa_column=Column(ForeignKey("child.id"), nullable=False, index=True))
    school_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organisation.id"), nullable=False))
    grade: int
    start_date: date
    end_date: date | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    #: where the sending school released the pupil to: `school`, `abroad` or `unknown` (None: not released)
    release_destination: str | None = Field(default=None, max_length=10)
    #: the receiving school of a release to `school`
    release_school_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("organisation.id"), nullable=True)
    )
    #: when the release was recorded (its date is the enrolment's `end_date`)
    released_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
