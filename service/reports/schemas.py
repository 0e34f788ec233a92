"""The municipal summary report as it is answered (JSON) and exported (CSV)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from service.reports.suppression import Shown

#: a published count: the number, "<5" for 1 to 4, or "suppressed" when hidden so that a "<5"
#: cannot be worked out from the totals
Count = Annotated[
    Shown,
    Field(description='a count; "<5" for 1 to 4; "suppressed" when hidden to protect a small count'),
]


class AlertCounts(BaseModel):
    total: Count
    by_type: dict[str, Count]
    by_status: dict[str, Count]
    by_outcome: dict[str, Count] = Field(description="closed alerts by outcome; they add up to by_status.closed")
    by_source_kind: dict[str, Count] = Field(description="by the kind of organisation that raised the alert")
    open_older_than_30_days: Count = Field(description="alerts still open that were raised over 30 days ago")


class AcknowledgementTime(BaseModel):
    recipient_kind: str
    acknowledged: Count = Field(description="recipients of this kind that acknowledged")
    median_hours: float | None = Field(description="from routing (delivery) to first acknowledgement")
    p90_hours: float | None = Field(description="90th percentile, linear interpolation")


class SummaryReport(BaseModel):
    municipality: str
    from_: date | None = Field(
        serialization_alias="from", description="first day covered, the first of a month (alerts raised on or after)"
    )
    to: date | None = Field(description="last day covered, the last of a month (alerts raised on or before)")
    generated_at: datetime
    alerts: AlertCounts
    time_to_acknowledge: list[AcknowledgementTime]
    suppression: str = Field(description="how small counts are hidden")


class MechanismRow(BaseModel):
    municipality_code: str
    settlement_code: str | None = Field(
        description='EKATTE settlement; null: the whole municipality; "unknown": cases without a settlement'
    )
    children_to_find: Count = Field(description="children on a list to find (not_enrolled alerts raised)")
    found: Count = Field(description="children found: closed with any outcome but not_found, unfounded or other")
    enrolled_first_time: Count
    returned_to_school: Count
    moved_abroad: Count
    moved_within_country: Count
    not_found: Count
    retained: Count = Field(description="followed up three months later and still in school")
    dropped_again: Count


class MechanismReport(BaseModel):
    municipality_codes: list[str]
    from_: date = Field(serialization_alias="from", description="first day covered, the first of a month")
    to: date = Field(description="last day covered, the last of a month")
    generated_at: datetime
    rows: list[MechanismRow] = Field(description="per municipality (settlement_code null), then per settlement")
    suppression: str = Field(description="how small counts are hidden")
