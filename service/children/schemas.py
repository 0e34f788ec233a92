"""Request and response bodies for children and enrolments. A PIN is accepted, never returned."""

from __future__ import annotations

import uuid
from datetime import date, datetime
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
    anonymised the child; everything but the id is None where a registration matched a child
    the caller is not related to."""

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

    @classmethod
    def identifier_only(cls, child_id: uuid.UUID) -> ChildRead:
        """A registration that matched a child the caller is not related to: the id, nothing on record."""
        return cls(
            id=child_id, given_name=None, family_name=None, date_of_birth=None, sex=None,
            municipality_code=None, current_enrolment=None,
        )


class EnrolmentCreate(RequestModel):

    child_id: uuid.UUID
    school_id: uuid.UUID
    grade: int = Field(ge=0, le=12, description="0 for the preparatory group")
    start_date: date
    end_date: date | None = None


class EnrolmentUpdate(RequestModel):

    end_date: date | None = None
    grade: int | None = Field(default=None, ge=0, le=12)


class EnrolmentRead(BaseModel):
    id: uuid.UUID
    child_id: uuid.UUID
    school_id: uuid.UUID
    grade: int
    start_date: date
    end_date: date | None
