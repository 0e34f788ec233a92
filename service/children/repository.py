"""Every query of children and enrolments."""

from __future__ import annotations

import typing
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import String, and_, cast, insert, inspect, literal, null, or_, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from service.access.consent import sharing_refusal
from service.access.relationships import ENROLMENT_ALERT_TYPES, ChildFacts
from service.alerts.models import Alert, AlertRecipient
from service.children.models import Child, Enrolment, Settlement
from service.consent import repository as consents
from service.consent.models import Consent
from service.organisations.models import OrganisationMunicipality
from service.teams.models import Team, TeamMember


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
        select(
            literal("routed"), col(AlertRecipient.organisation_id), col(AlertRecipient.consent_id), col(Alert.type),
            no_text,
        )
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
    whereabouts = frozenset(row[1] for row in rows if row[0] == "routed" and row[3] == "whereabouts_unknown")
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
        whereabouts_routed_to=whereabouts,
        team_members=frozenset(str(row[1]) for row in rows if row[0] == "team"),
    )


# --- settlements (EKATTE) -------------------------------------------------------------------

async def upsert_settlements(session: AsyncSession, rows: list[dict[str, str]]) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Settlement)
    statement = statement.on_conflict_do_update(
        index_elements=["code"],
        set_={"name": statement.excluded.name, "municipality_code": statement.excluded.municipality_code},
    )
    await session.execute(statement, rows)


async def child_settlements(
    session: AsyncSession, child_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str | None]]:
    """For the children that have one: (settlement code, municipality code) of the address."""
    found: dict[uuid.UUID, tuple[str, str | None]] = {}
    ids = list(dict.fromkeys(child_ids))
    for start in range(0, len(ids), 1000):
        rows = await session.execute(
            select(col(Child.id), col(Child.settlement_code), col(Child.municipality_code)).where(
                col(Child.id).in_(ids[start : start + 1000]), col(Child.settlement_code).is_not(None)
            )
        )
        found |= {child_id: (str(settlement), municipality) for child_id, settlement, municipality in rows.all()}
    return found


async def settlement_municipalities(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    """settlement code → its municipality code, for the codes the classifier knows."""
    if not codes:
        return {}
    rows = await session.execute(
        select(col(Settlement.code), col(Settlement.municipality_code)).where(col(Settlement.code).in_(list(codes)))
    )
    return {code: municipality for code, municipality in rows}


# --- rosters (a whole school at once: Core statements, in chunks) ---------------------------

async def lock_children_by_pin_hash(
    session: AsyncSession, pin_hashes: Sequence[str]
) -> dict[str, uuid.UUID]:
    """pin_hash → child id for the known ones, their rows locked to the end of the transaction
    (a release or enrolment of the same child waits for the roster, and the roster for it)."""
    rows = await session.execute(
        select(col(Child.pin_hash), col(Child.id))
        .where(col(Child.pin_hash).in_(list(pin_hashes)))
        .order_by(col(Child.id))
        .with_for_update()
    )
    return {str(digest): child_id for digest, child_id in rows}


async def insert_children(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """New children; one registered meanwhile by someone else under the same PIN is skipped
    (the caller reads the ids back by PIN hash)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(dialect.insert(Child).on_conflict_do_nothing(index_elements=["pin_hash"]), rows)


async def enrolments_of_children(session: AsyncSession, child_ids: Sequence[uuid.UUID]) -> list[Enrolment]:
    return list(
        (
            await session.execute(
                select(Enrolment)
                .where(col(Enrolment.child_id).in_(list(child_ids)))
                .order_by(col(Enrolment.start_date), col(Enrolment.created_at))
            )
        ).scalars()
    )


async def insert_enrolments(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(insert(Enrolment), rows)


async def set_grade(session: AsyncSession, enrolment_ids: Sequence[uuid.UUID], grade: int) -> None:
    await session.execute(update(Enrolment).where(col(Enrolment.id).in_(list(enrolment_ids))).values(grade=grade))


async def current_enrolments_at(session: AsyncSession, school_id: uuid.UUID, today: date) -> dict[uuid.UUID, uuid.UUID]:
    """child id → enrolment id of the school's current pupils."""
    rows = await session.execute(
        select(col(Enrolment.child_id), col(Enrolment.id)).where(col(Enrolment.school_id) == school_id, _current(today))
    )
    return {child_id: enrolment_id for child_id, enrolment_id in rows}


# --- provisional children and merging ----------------------------------------------------------

async def provisional_candidates(
    session: AsyncSession, *, settlement_code: str, birth_year: int, sex: str
) -> list[Child]:
    """Unmerged children without a PIN in this settlement, born that year, of that sex; a sex of
    `unknown` matches any, and a known one matches `unknown` too (a list may not say)."""
    sexes = None if sex == "unknown" else [sex, "unknown"]
    return list(
        (
            await session.execute(
                select(Child).where(
                    col(Child.pin_hash).is_(None),
                    col(Child.anonymised_at).is_(None),
                    col(Child.merged_into_id).is_(None),
                    col(Child.settlement_code) == settlement_code,
                    col(Child.birth_year) == birth_year,
                    *([col(Child.sex).in_(sexes)] if sexes is not None else []),
                )
            )
        ).scalars()
    )


async def on_team_covering(session: AsyncSession, user_id: uuid.UUID, *, municipality_code: str,
                           settlement_code: str) -> bool:
    """Whether the user is on a team of this municipality whose area covers the settlement (a
    team that lists no settlements covers the whole municipality)."""
    rows = await session.execute(
        select(col(Team.settlement_codes))
        .join(TeamMember, col(TeamMember.team_id) == col(Team.id))
        .where(col(TeamMember.user_id) == user_id, col(Team.municipality_code) == municipality_code)
    )
    return any(not codes or settlement_code in codes for (codes,) in rows.all())


async def lock_children(session: AsyncSession, child_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Child]:
    rows = await session.execute(
        select(Child).where(col(Child.id).in_(list(child_ids))).order_by(col(Child.id)).with_for_update()
    )
    return {child.id: child for child in rows.scalars()}


async def move_child_records(session: AsyncSession, *, source: uuid.UUID, kept: uuid.UUID) -> dict[str, int]:
    """Move alerts (with their recipients and actions), enrolments and consents of `source` to
    `kept`; how many of each. An open alert of `source` with the same one-per-child key as an
    open alert of `kept` moves without the key (both stay open, neither is lost)."""
    kept_keys = select(col(Alert.dedup_key)).where(
        col(Alert.child_id) == kept, col(Alert.status) == "open", col(Alert.dedup_key).is_not(None)
    )
    await session.execute(
        update(Alert)
        .where(col(Alert.child_id) == source, col(Alert.status) == "open", col(Alert.dedup_key).in_(kept_keys))
        .values(dedup_key=None)
    )
    moved: dict[str, int] = {}
    for name, table in (("alerts", Alert), ("enrolments", Enrolment), ("consents", Consent)):
        result = await session.execute(update(table).where(col(table.child_id) == source).values(child_id=kept))
        moved[name] = typing.cast(CursorResult[Any], result).rowcount
    return moved



async def settlement_names(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    """settlement code → its name, for the codes the classifier knows."""
    if not codes:
        return {}
    rows = await session.execute(
        select(col(Settlement.code), col(Settlement.name)).where(col(Settlement.code).in_(list(codes)))
    )
    return {code: name for code, name in rows}
