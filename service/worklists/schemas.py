"""Response of a list import."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WorklistResult(BaseModel):
    school_year: str
    rows_accepted: int
    alerts_raised: int = Field(description="new not_enrolled alerts")
    alerts_updated: int = Field(description="open alerts of an earlier import whose details changed")
    alerts_unchanged: int = Field(description="children already listed this school year, nothing new to say")
    children_registered: int = Field(description="children with an ЕГН seen for the first time")
    provisional_children: int = Field(description="children without a known ЕГН, registered by names")
