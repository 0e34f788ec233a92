"""The structured `details` of each alert type. Their JSON Schemas are committed under
`schemas/alert-details/` (`make schemas`), and a test fails when the two drift apart."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints

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


class _Details(RequestModel):
    """Details of one alert type."""


class UnexcusedAbsencesDetails(_Details):
    month: Month = Field(description="YYYY-MM")
    unexcused_hours: int = Field(ge=0, le=300)


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


DETAILS_MODELS: dict[AlertType, type[_Details]] = {
    AlertType.unexcused_absences: UnexcusedAbsencesDetails,
    AlertType.dropout_risk: DropoutRiskDetails,
    AlertType.not_enrolled: NotEnrolledDetails,
    AlertType.left_education: LeftEducationDetails,
    AlertType.whereabouts_unknown: WhereaboutsUnknownDetails,
    AlertType.abuse_or_neglect_suspected: AbuseOrNeglectDetails,
    AlertType.support_needed: SupportNeededDetails,
}


def details_json_schemas() -> dict[str, dict[str, Any]]:
    return {t.value: model.model_json_schema() for t, model in DETAILS_MODELS.items()}
