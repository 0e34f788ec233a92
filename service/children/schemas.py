"""Request and response bodies for children and enrolments. A PIN is accepted, never returned."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from service.core.schemas import RequestModel

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
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
    id: uuid.UUID
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str
    municipality_code: str | None
    current_enrolment: CurrentEnrolment | None


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
