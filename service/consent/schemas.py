"""Request and response bodies of guardian consent."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from service.core.schemas import PersonNameRule, RequestModel


class ConsentPurpose(StrEnum):
    support_services = "support_services"
    health_followup = "health_followup"
    education_support = "education_support"


class GuardianRelationship(StrEnum):
    mother = "mother"
    father = "father"
    guardian = "guardian"
    foster_parent = "foster_parent"
    grandparent = "grandparent"
    other = "other"


Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class ConsentCreate(RequestModel):
    guardian_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), PersonNameRule
    ]
    guardian_relationship: GuardianRelationship
    purposes: list[ConsentPurpose] = Field(min_length=1, max_length=3)
    recipient_ids: list[uuid.UUID] = Field(min_length=1, max_length=20, description="service providers")
    valid_from: date
    valid_until: date
    evidence: Text300 = Field(description="where the signed form is kept, e.g. a file number")

    @model_validator(mode="after")
    def _dates_in_order(self) -> ConsentCreate:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class ConsentWithdraw(RequestModel):
    reason: Text300


class ConsentState(StrEnum):
    active = "active"
    not_yet_valid = "not_yet_valid"
    expired = "expired"
    withdrawn = "withdrawn"


class ConsentRead(BaseModel):
    id: uuid.UUID
    child_id: uuid.UUID
    guardian_name: str | None
    guardian_relationship: GuardianRelationship
    purposes: list[ConsentPurpose]
    recipient_ids: list[uuid.UUID]
    valid_from: date
    valid_until: date
    evidence: str
    recorded_by: str
    recorded_by_organisation_id: uuid.UUID
    created_at: datetime
    state: ConsentState
    withdrawn_at: datetime | None
    withdrawal_reason: str | None


class ConsentList(BaseModel):
    items: list[ConsentRead]
    next: str | None
