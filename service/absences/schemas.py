"""Bodies of the absence feed: rows (JSON), batch results, threshold rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from service.alerts.details import AlertType
from service.alerts.schemas import Severity
from service.core.schemas import RequestModel


class AbsenceRowSchema(RequestModel):
    """One pupil-month as an e-diary sends it (the JSON Schema committed under schemas/)."""

    pin: Annotated[str, StringConstraints(min_length=1, max_length=20)] = Field(description="ЕГН or ЛНЧ")
    month: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = Field(description="YYYY-MM")
    unexcused_hours: int | None = Field(default=None, ge=0, le=300, description="a school's figure")
    excused_hours: int | None = Field(default=None, ge=0, le=300, description="a school's figure")
    unexcused_days: int | None = Field(
        default=None, ge=0, le=31, description="a kindergarten's figure (pupils of grade 0), instead of hours"
    )
    excused_days: int | None = Field(default=None, ge=0, le=31, description="with `unexcused_days`")


class AbsenceBatchBody(RequestModel):
    rows: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=100_000,
        description="objects shaped as schemas/absence-row.schema.json; each is checked and errors name its row",
    )


class AbsenceBatchRead(BaseModel):
    id: uuid.UUID
    school_id: uuid.UUID
    source: str
    rows_accepted: int
    alerts_raised: list[uuid.UUID]
    alerts_updated: list[uuid.UUID]
    created_at: datetime


class RuleUnit(StrEnum):
    hours = "hours"
    days = "days"


class AbsenceRuleBody(RequestModel):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,50}$")]
    alert_type: AlertType
    severity: Severity
    threshold_hours: int = Field(
        ge=0, le=300, description="more than this many unexcused hours (days, for a `days` rule) in a month"
    )
    months: int = Field(default=1, ge=1, le=12, description="that many such months in one school year")
    enabled: bool = True
    unit: RuleUnit = Field(
        default=RuleUnit.hours,
        description="`hours` judges schools' figures; `days` kindergartens' (pupils of grade 0)",
    )


class AbsenceRules(BaseModel):
    items: list[AbsenceRuleBody]
