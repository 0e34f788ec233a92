"""Response of a list import."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class WorklistTeam(BaseModel):
    id: uuid.UUID
    code: str
    name: str


class WorklistArea(BaseModel):
    municipality_code: str
    rows: int = Field(description="children the list names in this municipality")
    alerts_raised: int = Field(description="new not_enrolled alerts in this municipality")
    teams: list[WorklistTeam] = Field(
        description="the joint enrolment teams whose area covers these children's settlements"
    )


class WorklistResult(BaseModel):
    school_year: str
    rows_accepted: int
    alerts_raised: int = Field(description="new not_enrolled alerts")
    alerts_updated: int = Field(description="open alerts of an earlier import whose details changed")
    alerts_unchanged: int = Field(description="children already listed this school year, nothing new to say")
    children_registered: int = Field(description="children with an ЕГН seen for the first time")
    provisional_children: int = Field(description="children without a known ЕГН, registered by names")
    areas: list[WorklistArea] = Field(description="by municipality, in code order")
