"""Every query of alerts, recipients, actions, routing rules and the change feed."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal_column, or_, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from service.access.relationships import ENROLMENT_ALERT_TYPES, AccessScope, AlertFacts
from service.alerts import feed
from service.alerts.models import (
    Alert,
    AlertAction,
    AlertRecipient,
    DeadlineRule,
    EscalationRule,
    InboxNotice,
    RoutingRule,
)
from service.consent import repository as consents
from service.consent.models import Consent, ConsentRecipient
from service.core.database import metadata
from service.organisations.models import Organisation, OrganisationMunicipality
from service.teams.models import TeamMember


def consent_stands(
    consent_id: Mapped[uuid.UUID | None], organisation_id: uuid.UUID | Mapped[uuid.UUID], today: date
) -> ColumnElement[bool]:
    """SQL twin of `access.consent.sharing_refusal(..., purpose=None) is None`: no consent was
    needed, or it is neither withdrawn nor outside its dates and covers the organisation."""
    return or_(
        consent_id.is_(None),
        exists().where(
            col(Consent.id) == consent_id,
            col(Consent.withdrawn_at).is_(None),
            col(Consent.valid_from) <= today,
            col(Consent.valid_until) >= today,
            col(ConsentRecipient.consent_id) == col(Consent.id),
            col(ConsentRecipient.organisation_id) == organisation_id,
        ),
    )


def _probed_per_alert(*criteria: Any) -> ColumnElement[bool]:
    """EXISTS checked alert by alert, through the indexes, as a page walks the alerts.

    Without `OFFSET 0` (PostgreSQL's optimisation fence) PostgreSQL may instead read every row
    that matches for any alert (every alert routed to the organisation) into a hash on each
    query, because it plans the check for the whole table, not for the page the LIMIT asks
    for: a page then costs time in proportion to the organisation's history (55 ms at a
    million alerts against 4 ms at ten thousand), where alert-by-alert probes cost the same at
    any size."""
    return select(literal_column("1")).where(*criteria).offset(0).exists()


def visible_to(scope: AccessScope) -> ColumnElement[bool]:
    """SQL twin of `access.relationships.decide_alert` for reading: alerts the scope's
    organisation raised or received (under a consent that still stands), and those it follows
    by jurisdiction."""
    org = scope.organisation_id
    received = _probed_per_alert(
        AlertRecipient.alert_id == Alert.id,
        AlertRecipient.organisation_id == org,
        consent_stands(col(AlertRecipient.consent_id), org, scope.today),
    )
    clauses: list[ColumnElement[bool]] = [col(Alert.source_organisation_id) == org, received]
    codes = sorted(scope.municipality_codes)
    if scope.follows_child_protection_history and codes:
        sibling, sibling_recipient = aliased(Alert), aliased(AlertRecipient)
        clauses.append(
            and_(
                col(Alert.municipality_code).in_(codes),
                _probed_per_alert(
                    col(sibling.child_id) == col(Alert.child_id),
                    col(sibling_recipient.alert_id) == col(sibling.id),
                    col(sibling_recipient.organisation_id) == org,
                ),
            )
        )
    if scope.follows_enrolment_alerts and codes:
        clauses.append(
            and_(
                col(Alert.type).in_(sorted(ENROLMENT_ALERT_TYPES)),
                col(Alert.municipality_code).in_(codes),
            )
        )
    if scope.user_id is not None:
        clauses.append(col(Alert.team_id).in_(my_teams(scope.user_id)))
    return or_(*clauses)


def my_teams(user_id: uuid.UUID) -> Any:
    """The teams a person is a member of, as a subquery (DESIGN §4: a team member with the
    alerts assigned to the team)."""
    return select(col(TeamMember.team_id)).where(col(TeamMember.user_id) == user_id)


async def team_cases(session: AsyncSession, scope: AccessScope, alert_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Those of the alerts assigned to a team the scope's person is a member of."""
    if scope.user_id is None or not alert_ids:
        return set()
    rows = await session.execute(
        select(col(Alert.id)).where(col(Alert.id).in_(alert_ids), col(Alert.team_id).in_(my_teams(scope.user_id)))
    )
    return set(rows.scalars())


async def get_alert(session: AsyncSession, alert_id: uuid.UUID, *, for_update: bool = False) -> Alert | None:
    query = select(Alert).where(col(Alert.id) == alert_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def alert_facts(session: AsyncSession, alert: Alert) -> AlertFacts:
    rows = (
        await session.execute(
            select(col(AlertRecipient.alert_id), col(AlertRecipient.organisation_id), col(AlertRecipient.consent_id))
            .join(Alert, col(Alert.id) == col(AlertRecipient.alert_id))
            .where(col(Alert.child_id) == alert.child_id)
        )
    ).all()
    own = [row for row in rows if row[0] == alert.id and row[2] is not None]
    consent_facts = await consents.facts_by_id(session, [row[2] for row in own])
    members: frozenset[str] = frozenset()
    if alert.team_id is not None:
        found = await session.execute(select(col(TeamMember.user_id)).where(col(TeamMember.team_id) == alert.team_id))
        members = frozenset(str(user_id) for user_id in found.scalars())
    return AlertFacts(
        alert_id=alert.id,
        child_id=alert.child_id,
        type=alert.type,
        municipality_code=alert.municipality_code,
        legal_basis=alert.legal_basis,
        source_organisation_id=alert.source_organisation_id,
        recipients=frozenset(org for alert_id, org, _ in rows if alert_id == alert.id),
        child_routed_to=frozenset(org for _, org, consent_id in rows if consent_id is None),
        consents={org: consent_facts[consent_id] for _, org, consent_id in own if consent_id in consent_facts},
        team_members=members,
    )


async def recipients_of(session: AsyncSession, alert_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[AlertRecipient]]:
    found: dict[uuid.UUID, list[AlertRecipient]] = defaultdict(list)
    if not alert_ids:
        return found
    rows = await session.execute(
        select(AlertRecipient)
        .where(col(AlertRecipient.alert_id).in_(alert_ids))
        .order_by(col(AlertRecipient.is_lead).desc(), col(AlertRecipient.delivered_at))
    )
    for recipient in rows.scalars():
        found[recipient.alert_id].append(recipient)
    return found


async def recipients_and_lapsed(
    session: AsyncSession, scope: AccessScope, alert_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[AlertRecipient]], set[uuid.UUID]]:
    """For showing alerts, in one statement: each alert's recipients (as `recipients_of`), and
    those of the alerts that reached the scope's organisation under a consent that no longer
    stands: it is no recipient of them any more (DESIGN §4 point 2)."""
    found: dict[uuid.UUID, list[AlertRecipient]] = defaultdict(list)
    lapsed: set[uuid.UUID] = set()
    if not alert_ids:
        return found, lapsed
    receipt_stands = (
        or_(
            col(AlertRecipient.organisation_id) != scope.organisation_id,
            consent_stands(col(AlertRecipient.consent_id), scope.organisation_id, scope.today),
        )
        if scope.organisation_id is not None
        else true()
    )
    rows = await session.execute(
        select(AlertRecipient, receipt_stands.label("receipt_stands"))
        .where(col(AlertRecipient.alert_id).in_(alert_ids))
        .order_by(col(AlertRecipient.is_lead).desc(), col(AlertRecipient.delivered_at))
    )
    for recipient, stands in rows:
        found[recipient.alert_id].append(recipient)
        if not stands:
            lapsed.add(recipient.alert_id)
    return found, lapsed


async def actions_of(session: AsyncSession, alert_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[AlertAction]]:
    found: dict[uuid.UUID, list[AlertAction]] = defaultdict(list)
    if not alert_ids:
        return found
    rows = await session.execute(
        select(AlertAction)
        .where(col(AlertAction.alert_id).in_(alert_ids))
        .order_by(col(AlertAction.created_at), col(AlertAction.id))
    )
    for action in rows.scalars():
        found[action.alert_id].append(action)
    return found


async def organisation_kinds(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(col(Organisation.id), col(Organisation.kind)).where(col(Organisation.id).in_(ids))
    )
    return {row[0]: row[1] for row in rows}


@dataclass(frozen=True, slots=True)
class Route:
    """What routing a new alert needs, read in one round trip (it runs on every alert raised)."""

    rule: RoutingRule
    #: every organisation serving the municipality, as (id, kind), by code
    serving: list[tuple[uuid.UUID, str]]
    #: the acknowledgement deadline for the severity the alert will have (None: no deadline)
    deadline: DeadlineRule | None


async def route_for(session: AsyncSession, alert_type: str, municipality_code: str, severity: str) -> Route | None:
    """The routing rule of `alert_type`, the organisations serving the municipality and the
    deadline rule of the alert's severity (the rule's forced severity, else `severity`)."""
    serving = (
        select(col(Organisation.id), col(Organisation.kind), col(Organisation.code))
        .join(OrganisationMunicipality, col(OrganisationMunicipality.organisation_id) == col(Organisation.id))
        .where(col(OrganisationMunicipality.municipality_code) == municipality_code)
        .subquery()
    )
    rows = (
        await session.execute(
            select(RoutingRule, DeadlineRule, serving.c.id, serving.c.kind)
            .outerjoin(
                DeadlineRule,
                col(DeadlineRule.severity) == func.coalesce(col(RoutingRule.forced_severity), severity),
            )
            .outerjoin(serving, true())
            .where(col(RoutingRule.alert_type) == alert_type)
            .order_by(serving.c.code)
        )
    ).all()
    if not rows:
        return None
    return Route(
        rule=rows[0][0],
        serving=[(row[2], row[3]) for row in rows if row[2] is not None],
        deadline=rows[0][1],
    )


async def routing_rules(session: AsyncSession) -> list[RoutingRule]:
    return list((await session.execute(select(RoutingRule).order_by(RoutingRule.alert_type))).scalars())


async def organisations_serving(
    session: AsyncSession, municipality_code: str, kinds: Sequence[str]
) -> list[tuple[uuid.UUID, str]]:
    """Organisations of `kinds` that serve the municipality, as (id, kind), by code."""
    rows = await session.execute(
        select(col(Organisation.id), col(Organisation.kind))
        .join(OrganisationMunicipality, col(OrganisationMunicipality.organisation_id) == col(Organisation.id))
        .where(
            col(OrganisationMunicipality.municipality_code) == municipality_code,
            col(Organisation.kind).in_(list(kinds)),
        )
        .order_by(col(Organisation.code))
    )
    return [(row[0], row[1]) for row in rows]


async def insert_recipients(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    # Core inserts of the tables: the ORM's bulk path costs several times more per row
    if rows:
        await session.execute(insert(metadata.tables[AlertRecipient.__tablename__]), rows)


async def stamp_recipients(session: AsyncSession, alert_id: uuid.UUID, position: int) -> None:
    await session.execute(
        update(AlertRecipient).where(col(AlertRecipient.alert_id) == alert_id).values(change_seq=position)
    )


async def list_visible(
    session: AsyncSession,
    scope: AccessScope,
    *,
    status: str | None,
    alert_type: str | None,
    severity: str | None,
    child_id: uuid.UUID | None,
    since: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Alert]:
    """Newest first, keyset on (created_at, id)."""
    query = select(Alert).where(visible_to(scope))
    if status:
        query = query.where(col(Alert.status) == status)
    if alert_type:
        query = query.where(col(Alert.type) == alert_type)
    if severity:
        query = query.where(col(Alert.severity) == severity)
    if child_id:
        query = query.where(col(Alert.child_id) == child_id)
    if since:
        query = query.where(col(Alert.updated_at) >= since)
    if before:
        created, last_id = before
        # a row comparison, which PostgreSQL starts the (created_at, id) index scan from; the
        # equivalent OR of comparisons is only a filter, so a deep page read every newer alert
        query = query.where(tuple_(Alert.created_at, Alert.id) < (created, last_id))
    query = query.order_by(col(Alert.created_at).desc(), col(Alert.id).desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def inbox_after(session: AsyncSession, scope: AccessScope, *, after: int, limit: int) -> list[tuple[Alert, int]]:
    """Alerts routed to the scope's organisation whose latest change is after `after`, in feed
    order (oldest change first)."""
    query = (
        select(Alert, col(AlertRecipient.change_seq))
        .join(AlertRecipient, col(AlertRecipient.alert_id) == col(Alert.id))
        .where(
            col(AlertRecipient.organisation_id) == scope.organisation_id,
            col(AlertRecipient.change_seq) > after,
            consent_stands(col(AlertRecipient.consent_id), scope.organisation_id, scope.today),
        )
        .order_by(col(AlertRecipient.change_seq))
        .limit(limit)
    )
    settled = feed.settled(session, col(AlertRecipient.change_seq))
    rows = await session.execute(query if settled is None else query.where(settled))
    return [(row[0], int(row[1])) for row in rows]


async def child_alerts_visible(session: AsyncSession, scope: AccessScope, child_id: uuid.UUID) -> list[Alert]:
    rows = await session.execute(
        select(Alert)
        .where(col(Alert.child_id) == child_id, visible_to(scope))
        .order_by(col(Alert.created_at), col(Alert.id))
    )
    return list(rows.scalars())


async def add_notice(session: AsyncSession, notice: InboxNotice) -> None:
    session.add(notice)
    await session.flush()


async def notices_after(session: AsyncSession, scope: AccessScope, *, after: int, limit: int) -> list[InboxNotice]:
    query = (
        select(InboxNotice)
        .where(
            col(InboxNotice.organisation_id) == scope.organisation_id,
            col(InboxNotice.change_seq) > after,
        )
        .order_by(col(InboxNotice.change_seq))
        .limit(limit)
    )
    settled = feed.settled(session, col(InboxNotice.change_seq))
    return list((await session.execute(query if settled is None else query.where(settled))).scalars())


async def child_alerts(session: AsyncSession, child_id: uuid.UUID) -> list[Alert]:
    """Every alert about a child, for a break-glass read (audited and reviewed)."""
    rows = await session.execute(
        select(Alert).where(col(Alert.child_id) == child_id).order_by(col(Alert.created_at), col(Alert.id))
    )
    return list(rows.scalars())


async def add_recipient(session: AsyncSession, recipient: AlertRecipient) -> None:
    session.add(recipient)
    await session.flush()


async def open_alerts_by_keys(
    session: AsyncSession, keys: Sequence[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], Alert]:
    """The open alerts for (child, rule key) pairs, locked for update."""
    found: dict[tuple[uuid.UUID, str], Alert] = {}
    wanted = set(keys)
    pairs = list(wanted)
    for start in range(0, len(pairs), 1000):
        chunk = pairs[start : start + 1000]
        rows = await session.execute(
            select(Alert)
            .where(
                col(Alert.child_id).in_({c for c, _ in chunk}),
                col(Alert.dedup_key).in_({k for _, k in chunk}),
                col(Alert.status) == "open",
            )
            .with_for_update()
        )
        for alert in rows.scalars():
            if alert.dedup_key is not None and (alert.child_id, alert.dedup_key) in wanted:
                found[(alert.child_id, alert.dedup_key)] = alert
    return found


async def insert_alerts(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(metadata.tables[Alert.__tablename__]), rows)


async def audience(session: AsyncSession, alert: Alert, today: date) -> list[uuid.UUID]:
    """Who hears of a change to an alert: its recipients (those under consent only while the
    consent stands) and the organisation that raised it."""
    rows = await session.execute(
        select(col(AlertRecipient.organisation_id)).where(
            col(AlertRecipient.alert_id) == alert.id,
            consent_stands(col(AlertRecipient.consent_id), col(AlertRecipient.organisation_id), today),
        )
    )
    return [*rows.scalars(), alert.source_organisation_id]


async def overdue_for(session: AsyncSession, scope: AccessScope) -> list[Alert]:
    """Open alerts routed to the scope's organisation that it has not acknowledged in time."""
    rows = await session.execute(
        select(Alert)
        .join(AlertRecipient, col(AlertRecipient.alert_id) == col(Alert.id))
        .where(
            col(AlertRecipient.organisation_id) == scope.organisation_id,
            col(AlertRecipient.overdue_at).is_not(None),
            col(AlertRecipient.acknowledged_at).is_(None),
            col(Alert.status) == "open",
            consent_stands(col(AlertRecipient.consent_id), scope.organisation_id, scope.today),
        )
        .order_by(col(AlertRecipient.due_at))
        .limit(200)
    )
    return list(rows.scalars())


async def overdue_recipients(session: AsyncSession, now: datetime, *, limit: int) -> list[tuple[AlertRecipient, Alert]]:
    """Recipients of open alerts whose deadline passed unacknowledged and not yet marked, with
    their alerts, both locked. The alert too: its version is bumped, and a recipient's change in
    progress holds the alert's lock (SKIP LOCKED: it is checked next round)."""
    rows = await session.execute(
        select(AlertRecipient, Alert)
        .join(Alert, col(Alert.id) == col(AlertRecipient.alert_id))
        .where(
            col(AlertRecipient.overdue_at).is_(None),
            col(AlertRecipient.acknowledged_at).is_(None),
            col(AlertRecipient.due_at) <= now,
            col(Alert.status) == "open",
        )
        .limit(limit)
        .with_for_update(skip_locked=True, of=(AlertRecipient, Alert))
    )
    return [(row[0], row[1]) for row in rows]


async def escalation_targets(session: AsyncSession, severity: str, municipality_code: str) -> list[uuid.UUID]:
    """The organisations the escalation rules name for an overdue alert of `severity` in the
    municipality."""
    rows = await session.execute(
        select(col(EscalationRule.organisation_id)).where(
            col(EscalationRule.severity) == severity,
            or_(
                col(EscalationRule.municipality_code).is_(None),
                col(EscalationRule.municipality_code) == municipality_code,
            ),
        )
    )
    return list(rows.scalars())


async def departments_knowing(
    session: AsyncSession, child_id: uuid.UUID, closed_since: datetime
) -> list[Organisation]:
    """Child protection departments the child is known to: an open alert about the child is
    routed to them, or one closed since `closed_since`. Those with an open alert first, then
    by the latest closure."""
    rows = (
        await session.execute(
            select(col(AlertRecipient.organisation_id), col(Alert.status), col(Alert.closed_at))
            .join(Alert, col(Alert.id) == col(AlertRecipient.alert_id))
            .join(Organisation, col(Organisation.id) == col(AlertRecipient.organisation_id))
            .where(
                col(Alert.child_id) == child_id,
                col(Organisation.kind) == "child_protection",
                or_(col(Alert.status) == "open", col(Alert.closed_at) >= closed_since),
            )
        )
    ).all()
    latest: dict[uuid.UUID, tuple[bool, datetime]] = {}
    for organisation_id, status, closed_at in rows:
        rank = (status == "open", closed_at or closed_since)
        latest[organisation_id] = max(latest.get(organisation_id, rank), rank)
    if not latest:
        return []
    organisations = {
        o.id: o
        for o in (await session.execute(select(Organisation).where(col(Organisation.id).in_(list(latest))))).scalars()
    }
    return [organisations[o] for o in sorted(latest, key=lambda o: latest[o], reverse=True)]


async def my_cases(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, after: tuple[bool, datetime, uuid.UUID] | None = None
) -> list[tuple[Alert, bool]]:
    """Open alerts whose part a recipient assigned to the person, or assigned to one of the
    person's teams; with whether some recipient of it is overdue. Overdue first, then oldest;
    keyset on (overdue, created_at, id) after `after`."""
    assigned = exists().where(col(AlertRecipient.alert_id) == col(Alert.id), col(AlertRecipient.assignee_id) == user_id)
    overdue = exists().where(
        col(AlertRecipient.alert_id) == col(Alert.id),
        col(AlertRecipient.overdue_at).is_not(None),
        col(AlertRecipient.acknowledged_at).is_(None),
    )
    query = select(Alert, overdue.label("overdue")).where(
        col(Alert.status) == "open", or_(assigned, col(Alert.team_id).in_(my_teams(user_id)))
    )
    if after is not None:
        was_overdue, at, last_id = after
        later = or_(col(Alert.created_at) > at, and_(col(Alert.created_at) == at, col(Alert.id) > last_id))
        query = query.where(or_(~overdue, and_(overdue, later)) if was_overdue else and_(~overdue, later))
    rows = await session.execute(query.order_by(overdue.desc(), col(Alert.created_at), col(Alert.id)).limit(limit))
    return [(row[0], bool(row[1])) for row in rows.all()]


async def set_dedup_key(session: AsyncSession, alert_id: uuid.UUID, key: str) -> None:
    """Give an alert raised by the general path the rule key it answers for."""
    await session.execute(update(Alert).where(col(Alert.id) == alert_id).values(dedup_key=key))
