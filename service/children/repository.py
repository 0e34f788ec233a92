"""Every query of children and enrolments."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import String, and_, cast, inspect, literal, null, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from service.access.consent import sharing_refusal
from service.access.relationships import ENROLMENT_ALERT_TYPES, ChildFacts
from service.alerts.models import Alert, AlertRecipient
from service.children.models import Child, Enrolment
from service.consent import repository as consents
from service.organisations.models import OrganisationMunicipality
from service.teams.models import TeamMember


def _current(today: date) -> ColumnElement[bool]:
    return and_(
        col(Enrolment.start_date) <= today,
        or_(col(Enrolment.end_date).is_(None), col(Enrolment.end_date) >= today),
    )


async def child_by_pin_hash(session: AsyncSession, pin_hash: str) -> Child | None:
    return (await session.execute(select(Child).where(col(Child.pin_hash) == pin_hash))).scalar_one_or_none()


async def get_child(session: AsyncSession, child_id: uuid.UUID) -> Child | None:
    return await session.get(Child, child_id)


async def current_enrolment(session: AsyncSession, child_id: uuid.UUID, today: date) -> Enrolment | None:
    return (
        await session.execute(
            select(Enrolment)
            .where(col(Enrolment.child_id) == child_id, _current(today))
            .order_by(col(Enrolment.start_date).desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def open_enrolment(session: AsyncSession, child_id: uuid.UUID) -> Enrolment | None:
    return (
        await session.execute(
            select(Enrolment).where(col(Enrolment.child_id) == child_id, col(Enrolment.end_date).is_(None))
        )
    ).scalar_one_or_none()


async def get_enrolment(session: AsyncSession, enrolment_id: uuid.UUID) -> Enrolment | None:
    return await session.get(Enrolment, enrolment_id)


async def lock_child(session: AsyncSession, child_id: uuid.UUID) -> Child | None:
    """The child, its row locked to the end of the transaction: enrolling and releasing one
    child happen one at a time, so two schools cannot both take a released pupil."""
    return (
        await session.execute(select(Child).where(col(Child.id) == child_id).with_for_update())
    ).scalar_one_or_none()


async def enrolments_of(session: AsyncSession, child_id: uuid.UUID) -> list[Enrolment]:
    """Every enrolment of a child (a handful), earliest first."""
    return list(
        (
            await session.execute(
                select(Enrolment)
                .where(col(Enrolment.child_id) == child_id)
                .order_by(col(Enrolment.start_date), col(Enrolment.created_at))
            )
        ).scalars()
    )


async def school_municipality(session: AsyncSession, school_id: uuid.UUID) -> str | None:
    return (
        await session.execute(
            select(col(OrganisationMunicipality.municipality_code))
            .where(col(OrganisationMunicipality.organisation_id) == school_id)
            .order_by(col(OrganisationMunicipality.municipality_code))
            .limit(1)
        )
    ).scalar_one_or_none()


async def end_enrolment(session: AsyncSession, enrolment_id: uuid.UUID, end_date: date) -> None:
    await session.execute(
        update(Enrolment).where(col(Enrolment.id) == enrolment_id).values(end_date=end_date)
    )


async def child_facts(session: AsyncSession, child: Child, today: date) -> ChildFacts:
    """What the access rules need to know about a child: where it is enrolled, which
    organisations its alerts reached or came from, and its effective municipality. One round
    trip (a UNION of the three relationships, each distinct), as it runs on every child read."""
    no_consent = cast(null(), inspect(AlertRecipient).columns["consent_id"].type)
    no_text = cast(null(), String())
    relationships = union(
        select(literal("routed"), col(AlertRecipient.organisation_id), col(AlertRecipient.consent_id), no_text, no_text)
        .join(Alert, col(Alert.id) == col(AlertRecipient.alert_id))
        .where(col(Alert.child_id) == child.id),
        select(
            literal("raised"),
            col(Alert.source_organisation_id),
            no_consent,
            col(Alert.type),
            col(Alert.municipality_code),
        )
        .where(col(Alert.child_id) == child.id),
        select(literal("enrolled"), col(Enrolment.school_id), no_consent, no_text, no_text)
        .where(col(Enrolment.child_id) == child.id, _current(today)),
        select(literal("team"), col(TeamMember.user_id), no_consent, no_text, no_text)
        .join(Alert, col(Alert.team_id) == col(TeamMember.team_id))
        .where(col(Alert.child_id) == child.id),
    )
    rows = (await session.execute(relationships)).all()
    enrolled = sorted(row[1] for row in rows if row[0] == "enrolled")
    recipient_rows = [(row[1], row[2]) for row in rows if row[0] == "routed"]
    sources = [(row[1], row[3], row[4]) for row in rows if row[0] == "raised"]
    municipality = child.municipality_code
    if municipality is None and enrolled:
        municipality = await school_municipality(session, enrolled[0])
    consent_facts = await consents.facts_by_id(session, [row[1] for row in recipient_rows if row[1]])
    # a provider that received the case under consent is related only while the consent stands
    routed = {
        org for org, consent_id in recipient_rows
        if consent_id is None or (
            consent_id in consent_facts
            and sharing_refusal(
                consent_facts[consent_id], child_id=child.id, recipient=org, purpose=None, today=today
            )
            is None
        )
    }
    return ChildFacts(
        child_id=child.id,
        municipality_code=municipality,
        enrolled_at=frozenset(enrolled),
        routed_to=frozenset(routed),
        raised_by=frozenset(row[0] for row in sources),
        enrolment_alert_municipalities=frozenset(
            row[2] for row in sources if row[1] in ENROLMENT_ALERT_TYPES
        ),
        team_members=frozenset(str(row[1]) for row in rows if row[0] == "team"),
    )
