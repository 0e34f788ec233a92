"""Every query of the municipal reports: aggregate counts and acknowledgement times, never a
child's identity. Both engines answer the same SQL; percentiles are computed by the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from service.alerts.models import Alert, AlertRecipient
from service.organisations.models import Organisation


@dataclass(frozen=True, slots=True)
class Selection:
    """The alerts a report covers: one municipality, raised in [created_from, created_before)."""

    municipality_code: str
    created_from: datetime | None = None
    created_before: datetime | None = None

    def where(self) -> ColumnElement[bool]:
        clauses: list[ColumnElement[bool]] = [col(Alert.municipality_code) == self.municipality_code]
        if self.created_from is not None:
            clauses.append(col(Alert.created_at) >= self.created_from)
        if self.created_before is not None:
            clauses.append(col(Alert.created_at) < self.created_before)
        return and_(*clauses)


@dataclass(frozen=True, slots=True)
class AlertCount:
    type: str
    status: str
    outcome: str | None
    source_kind: str
    count: int


async def alert_counts(session: AsyncSession, selection: Selection) -> list[AlertCount]:
    """Alerts of the selection counted per type, status, outcome and kind of the raising
    organisation (the finest cross-tabulation; the service adds up the margins)."""
    source = aliased(Organisation)
    query = (
        select(col(Alert.type), col(Alert.status), col(Alert.outcome), col(source.kind), func.count())
        .join(source, col(source.id) == col(Alert.source_organisation_id))
        .where(selection.where())
        .group_by(col(Alert.type), col(Alert.status), col(Alert.outcome), col(source.kind))
    )
    rows = await session.execute(query)
    return [AlertCount(t, s, o, k, int(n)) for t, s, o, k, n in rows]


async def open_alerts_created_before(session: AsyncSession, selection: Selection, before: datetime) -> int:
    query = select(func.count()).select_from(Alert).where(
        selection.where(),
        col(Alert.status) == "open",
        col(Alert.created_at) < before,
    )
    return int((await session.execute(query)).scalar_one())


async def acknowledgement_times(session: AsyncSession, selection: Selection) -> list[tuple[str, datetime, datetime]]:
    """(recipient organisation kind, delivered_at, acknowledged_at) of every acknowledged
    recipient of the selection's alerts."""
    recipient = aliased(Organisation)
    query = (
        select(col(recipient.kind), col(AlertRecipient.delivered_at), col(AlertRecipient.acknowledged_at))
        .select_from(AlertRecipient)
        .join(Alert, col(Alert.id) == col(AlertRecipient.alert_id))
        .join(recipient, col(recipient.id) == col(AlertRecipient.organisation_id))
        .where(selection.where(), col(AlertRecipient.acknowledged_at).is_not(None))
    )
    rows = await session.execute(query)
    # acknowledged_at IS NOT NULL in the query
    return [(kind, delivered, cast(datetime, acknowledged)) for kind, delivered, acknowledged in rows]


@dataclass(frozen=True, slots=True)
class MechanismCase:
    """One enrolment-kind alert as the mechanism report counts it: where, which child, and what
    became of it when."""

    municipality_code: str
    settlement_code: str | None
    child_id: object
    type: str
    created_at: datetime
    outcome: str | None
    closed_at: datetime | None
    follow_up: str | None
    follow_up_decided_at: datetime | None


async def mechanism_cases(
    session: AsyncSession, municipality_codes: list[str], types: list[str], start: datetime, end: datetime
) -> list[MechanismCase]:
    """Enrolment-kind alerts of the municipalities raised, closed or followed up in [start, end)."""
    def within(column: Any) -> ColumnElement[bool]:
        return and_(column >= start, column < end)

    rows = await session.execute(
        select(
            col(Alert.municipality_code), col(Alert.settlement_code), col(Alert.child_id), col(Alert.type),
            col(Alert.created_at), col(Alert.outcome), col(Alert.closed_at), col(Alert.follow_up),
            col(Alert.follow_up_decided_at),
        ).where(
            col(Alert.municipality_code).in_(municipality_codes),
            col(Alert.type).in_(types),
            or_(within(col(Alert.created_at)), within(col(Alert.closed_at)), within(col(Alert.follow_up_decided_at))),
        )
    )
    return [MechanismCase(*row) for row in rows.all()]
