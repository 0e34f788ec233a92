"""The structured `details` of each alert type. Their JSON Schemas are committed under
`schemas/alert-details/` (`make schemas`), and a test fails when the two drift apart."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, field_validator, model_validator

from service.core.clock import utcnow
from service.core.schemas import RequestModel

Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
SchoolYear = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}/[0-9]{4}$")]


class AlertType(StrEnum):
    unexcused_absences = "unexcused_absences"
    dropout_risk = "dropout_risk"
    not_enrolled = "not_enrolled"
    left_education = "left_education"
    whereabouts_unknown = "whereabouts_unknown"
    abuse_or_neglect_suspected = "abuse_or_neglect_suspected"
    support_needed = "support_needed"
    found_out_of_school = "found_out_of_school"


class _Details(RequestModel):
    """Details of one alert type."""


class UnexcusedAbsencesDetails(_Details):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["unexcused_hours"]}, {"required": ["unexcused_days"]}]},
    )

    month: Month = Field(description="YYYY-MM")
    unexcused_hours: int | None = Field(default=None, ge=0, le=300, description="a school's pupil")
    unexcused_days: int | None = Field(
        default=None, ge=0, le=31, description="a kindergarten's child (grade 0), instead of hours"
    )

    @model_validator(mode="after")
    def _hours_or_days(self) -> UnexcusedAbsencesDetails:
        if (self.unexcused_hours is None) == (self.unexcused_days is None):
            raise ValueError("give unexcused_hours (a school) or unexcused_days (a kindergarten)")
        return self


class DropoutRiskDetails(_Details):
    school_year: SchoolYear | None = None
    months_over_threshold: int | None = Field(default=None, ge=0, le=12)
    indicators: list[Annotated[str, StringConstraints(pattern=r"^(absences|grades|family|work|migration|other)$")]] = (
        Field(default_factory=list, max_length=6)
    )


class NotEnrolledReason(StrEnum):
    """Why a child is on the region's list of children to find."""

    not_in_school_register = "not_in_school_register"
    left_without_transfer = "left_without_transfer"
    returned_from_abroad = "returned_from_abroad"
    moved_within_country = "moved_within_country"
    other = "other"


class NotEnrolledDetails(_Details):
    school_year: SchoolYear
    expected_grade: int | None = Field(default=None, ge=0, le=12)
    reason: NotEnrolledReason | None = None


class LeftEducationDetails(_Details):
    left_on: date
    last_grade: int | None = Field(default=None, ge=0, le=12)


class FieldVisitResult(StrEnum):
    found_at_address = "found_at_address"
    not_found = "not_found"
    family_moved = "family_moved"
    abroad = "abroad"


class WhereaboutsUnknownDetails(_Details):
    last_seen_on: date | None = None
    last_known_municipality_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}[0-9]{2}$")] | None = None
    field_visit_result: FieldVisitResult | None = None


class AbuseOrNeglectDetails(_Details):
    observed_on: date | None = None
    immediate_danger: bool = False


class SupportNeededDetails(_Details):
    recipient_id: uuid.UUID = Field(description="the service provider to refer to")
    purpose: str = Field(
        default="support_services",
        pattern="^(support_services|health_followup|education_support)$",
        description="the consented purpose the case is shared for",
    )
    needs: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=10
    )


class FoundOutOfSchoolDetails(_Details):
    """Where and when police (or the municipality) found the child out of school in school hours."""

    found_at: AwareDatetime = Field(description="when the child was found, with its time zone offset")
    place: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="where: a street, square or place, as short as will do (no names of people)"
    )
    settlement_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")] | None = Field(
        default=None, description="EKATTE code of the settlement where the child was found"
    )

    @field_validator("found_at")
    @classmethod
    def _not_in_the_future(cls, found_at: datetime) -> datetime:
        if found_at > utcnow() + timedelta(minutes=5):
            raise ValueError("the time found is in the future")
        return found_at


DETAILS_MODELS: dict[AlertType, type[_Details]] = {
    AlertType.unexcused_absences: UnexcusedAbsencesDetails,
    AlertType.dropout_risk: DropoutRiskDetails,
    AlertType.not_enrolled: NotEnrolledDetails,
    AlertType.left_education: LeftEducationDetails,
    AlertType.whereabouts_unknown: WhereaboutsUnknownDetails,
    AlertType.abuse_or_neglect_suspected: AbuseOrNeglectDetails,
    AlertType.support_needed: SupportNeededDetails,
    AlertType.found_out_of_school: FoundOutOfSchoolDetails,
}


def details_json_schemas() -> dict[str, dict[str, Any]]:
    return {t.value: model.model_json_schema() for t, model in DETAILS_MODELS.items()}
