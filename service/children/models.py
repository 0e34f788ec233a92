"""Children (identified by a keyed hash of their personal number, or provisional until it is
known), the settlements they live in (EKATTE), and school enrolments."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Uuid, text
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
    #: the settlement of the current address (EKATTE, a `Settlement`); None when unknown
    settlement_code: str | None = Field(default=None, sa_column=Column(String(5), nullable=True, index=True))
    #: street and number; shown only to those DESIGN §3 names (`service.access.relationships.may_see_address`)
    address: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    #: approximate year of birth of a provisional child (no PIN, no exact date of birth)
    birth_year: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    #: a provisional child merged into the PIN-identified record: its id answers 301 to this one
    merged_into_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid(), ForeignKey("child.id"), nullable=True)
    )
    merged_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class Settlement(SQLModel, table=True):
    """A settlement of the EKATTE classifier: five-digit code, name, and its municipality."""

    __tablename__ = "settlement"

    code: str = Field(sa_column=Column(String(5), primary_key=True))
    name: str = Field(max_length=100)
    municipality_code: str = Field(max_length=10, index=True)


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
