"""Request and response bodies for children and enrolments. A PIN is accepted, never returned."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from service.core.schemas import PersonNameRule, RequestModel

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), PersonNameRule]
PinText = Annotated[str, StringConstraints(min_length=1, max_length=20)]
MunicipalityCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}[0-9]{2}$")]


class ChildCreate(RequestModel):

    pin: PinText = Field(description="ЕГН or ЛНЧ; stored only as a keyed hash")
    given_name: Name
    family_name: Name
    date_of_birth: date | None = Field(default=None, description="must agree with an ЕГН")
    sex: Literal["male", "female"]
    municipality_code: MunicipalityCode | None = Field(
        default=None, description="municipality of the current address (EKATTE)"
    )


class ChildLookup(RequestModel):

    pin: PinText


class CurrentEnrolment(BaseModel):
    id: uuid.UUID
    school_id: uuid.UUID
    grade: int
    start_date: date


class ChildRead(BaseModel):
    """A child as the caller may see it. Names and date of birth are None once retention has
    anonymised the child."""

    id: uuid.UUID
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    sex: str | None
    municipality_code: str | None
    current_enrolment: CurrentEnrolment | None
    anonymised_at: datetime | None = Field(
        default=None, description="when retention removed the names, date of birth and PIN hash"
    )


class ChildMatch(BaseModel):
    """A registration that matched a child already known by this PIN: the id and nothing else
    (identity is read through a relationship, `GET /children/{id}`)."""

    id: uuid.UUID


class EnrolmentCreate(RequestModel):

    child_id: uuid.UUID
    school_id: uuid.UUID
    grade: int = Field(ge=0, le=12, description="0 for the preparatory group")
    start_date: date
    end_date: date | None = None


class EnrolmentUpdate(RequestModel):

    end_date: date | None = None
    grade: int | None = Field(default=None, ge=0, le=12)


class ReleaseDestination(StrEnum):
    school = "school"
    abroad = "abroad"
    unknown = "unknown"


_Day = date


class EnrolmentRelease(RequestModel):
    """The transfer certificate ("удостоверение за преместване")."""

    destination: ReleaseDestination = Field(
        description="`school` (name it in `school_id`), `abroad`, or `unknown` (raises `left_education`)"
    )
    school_id: uuid.UUID | None = Field(default=None, description="the receiving school; only with `school`")
    date: _Day | None = Field(
        default=None,
        description="the last day the pupil is the sending school's; the enrolment ends on it (default today)",
    )


class EnrolmentRead(BaseModel):
    id: uuid.UUID
    child_id: uuid.UUID
    school_id: uuid.UUID
    grade: int
    start_date: date
    end_date: date | None
    release_destination: ReleaseDestination | None = Field(
        default=None, description="where the school released the pupil to (None: not released)"
    )
    release_school_id: uuid.UUID | None = Field(
        default=None, description="the receiving school of a release to `school`"
    )


class EnrolmentReleased(EnrolmentRead):
    alert_id: uuid.UUID | None = Field(
        default=None, description="the `left_education` alert a release to `unknown` raised"
    )
