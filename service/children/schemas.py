"""Request and response bodies for children and enrolments. A PIN is accepted, never returned."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from service.core.schemas import PersonNameRule, RequestModel

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), PersonNameRule]
PinText = Annotated[str, StringConstraints(min_length=1, max_length=20)]
MunicipalityCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}[0-9]{2}$")]
SettlementCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class ChildCreate(RequestModel):

    pin: PinText = Field(description="ЕГН or ЛНЧ; stored only as a keyed hash")
    given_name: Name
    family_name: Name
    date_of_birth: date | None = Field(default=None, description="must agree with an ЕГН")
    sex: Literal["male", "female"]
    municipality_code: MunicipalityCode | None = Field(
        default=None, description="municipality of the current address (EKATTE)"
    )
    settlement_code: SettlementCode | None = Field(
        default=None,
        description="settlement of the current address (EKATTE, five digits); "
        "sets the municipality when that is not given",
    )
    address: Address | None = Field(
        default=None, description="street and number; shown only to child protection, police on a "
        "`whereabouts_unknown` alert and the team working the child's case",
    )


class ProvisionalChildCreate(RequestModel):
    """A child a field team met whose ЕГН is not known (DESIGN §3): identified by names, an
    approximate year of birth, sex and settlement until the PIN is found and the record merged."""

    given_name: Name
    family_name: Name
    birth_year: int = Field(ge=1990, le=2100, description="approximate year of birth")
    sex: Literal["male", "female"]
    settlement_code: SettlementCode = Field(description="settlement where the child lives (EKATTE)")
    address: Address | None = None


class ChildMerge(RequestModel):
    """Merge a provisional child into the PIN-identified record: name the record by `pin` (an
    unknown PIN identifies the provisional record itself) or by `child_id`."""

    pin: PinText | None = Field(default=None, description="the child's ЕГН or ЛНЧ, now known")
    child_id: uuid.UUID | None = Field(default=None, description="the PIN-identified record to keep")

    @model_validator(mode="after")
    def _one_target(self) -> ChildMerge:
        if (self.pin is None) == (self.child_id is None):
            raise ValueError("give either pin or child_id")
        return self


class ChildMerged(BaseModel):
    id: uuid.UUID = Field(description="the record kept (it has the PIN)")
    merged_child_id: uuid.UUID | None = Field(
        description="the provisional record merged into it, whose id now answers 301; None when the PIN "
        "was new and the provisional record itself took it"
    )
    alerts_moved: int
    enrolments_moved: int
    consents_moved: int
    absence_reports_moved: int


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
    settlement_code: str | None = Field(default=None, description="EKATTE code of the settlement")
    address: str | None = Field(
        default=None, description="only for child protection, police on a `whereabouts_unknown` alert and "
        "the team working the case; None for everyone else",
    )
    provisional: bool = Field(default=False, description="no PIN is known yet (DESIGN §3)")
    birth_year: int | None = Field(default=None, description="approximate, for a provisional child")
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


class RosterBody(RequestModel):
    """A school's whole roster (DESIGN §3): every row is checked, then all are applied or none."""

    rows: list[dict[str, Any]] = Field(
        min_length=1, max_length=20_000,
        description="objects with `pin`, `given_name`, `family_name`, `sex` (`male`/`female`, or `м`/`ж`), "
        "`grade` (0–12) and optionally `date_of_birth`, `settlement_code`, `address`",
    )
    start_date: date | None = Field(default=None, description="when new enrolments start (default today)")


class RosterResult(BaseModel):
    school_id: uuid.UUID
    rows: int
    registered: int = Field(description="pupils new to Obhvat, registered and enrolled")
    enrolled: int = Field(description="known children enrolled here now (the registered ones included)")
    matched: int = Field(description="pupils already enrolled here")
    grade_changed: int = Field(description="of the matched, those whose grade the roster changed")
    not_in_roster: list[uuid.UUID] = Field(
        description="current enrolments of this school whose pupil the roster does not name: nothing is ended; "
        "release each pupil (POST /enrolments/{id}/release) or end the enrolment"
    )
