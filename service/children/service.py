"""Registering and matching children by personal number, reading them, and enrolments."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, audit_record, decide, enforce
from service.access.principal import Principal
from service.access.relationships import ChildFacts, decide_child, may_see_address
from service.access.vocabulary import Action, OrganisationKind, Purpose
from service.children import repository
from service.children.models import Child, Enrolment
from service.children.pin import InvalidPin, pin_hash, validate_pin
from service.children.schemas import (
    ChildCreate,
    ChildMatch,
    ChildRead,
    CurrentEnrolment,
    EnrolmentCreate,
    EnrolmentRead,
    EnrolmentUpdate,
    ReleaseDestination,
)
from service.core.problems import Conflict, NotFound, Problem, ValidationProblem, field_error


def pin_hash_or_422(pin: str, secret: bytes) -> tuple[str, date | None]:
    try:
        facts = validate_pin(pin)
    except InvalidPin as exc:
        raise field_error("/pin", f"not a valid ЕГН or ЛНЧ: {exc}") from None
    return pin_hash(secret, facts.normalised), facts.birth_date


async def child_read(
    session: AsyncSession, child: Child, today: date, *, show_address: bool = False
) -> ChildRead:
    """The child as a related caller sees it; the address only when `show_address` (decided by
    `service.access.relationships.may_see_address`)."""
    enrolment = await repository.current_enrolment(session, child.id, today)
    return ChildRead(
        id=child.id,
        given_name=child.given_name,
        family_name=child.family_name,
        date_of_birth=child.date_of_birth,
        sex=child.sex,
        municipality_code=child.municipality_code,
        settlement_code=child.settlement_code,
        address=child.address if show_address else None,
        provisional=child.pin_hash is None and child.anonymised_at is None,
        birth_year=child.birth_year if child.date_of_birth is None else child.date_of_birth.year,
        current_enrolment=CurrentEnrolment(
            id=enrolment.id, school_id=enrolment.school_id, grade=enrolment.grade,
            start_date=enrolment.start_date,
        ) if enrolment else None,
        anonymised_at=child.anonymised_at,
    )


async def settled_municipality(
    session: AsyncSession, *, settlement_code: str | None, municipality_code: str | None,
    pointer: str = "/settlement_code",
) -> str | None:
    """The child's municipality: the settlement's, which a given municipality must agree with.
    A settlement the classifier does not know is a 422 naming `pointer`."""
    if settlement_code is None:
        return municipality_code
    known = await repository.settlement_municipalities(session, [settlement_code])
    if settlement_code not in known:
        raise field_error(
            pointer, "not a settlement of the EKATTE classifier loaded here (obhvat settlements load)"
        )
    if municipality_code is not None and municipality_code != known[settlement_code]:
        raise field_error("/municipality_code", f"the settlement is in municipality {known[settlement_code]}")
    return known[settlement_code]


async def register(
    session: AsyncSession, *, actor: Principal, data: ChildCreate, pin_secret: bytes, today: date,
    purpose: Purpose | None,
) -> ChildRead | ChildMatch:
    """Register a child, or match the one already known by this PIN: a match answers the id
    and nothing else, whoever asks (DESIGN §3: identity is readable only through a relationship)."""
    decision = decide(actor, Action.register_child, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="child")
    digest, birth_date = pin_hash_or_422(data.pin, pin_secret)
    if birth_date is not None and data.date_of_birth is not None and birth_date != data.date_of_birth:
        raise field_error("/date_of_birth", "date of birth does not agree with the ЕГН")
    born = birth_date or data.date_of_birth
    if born is None:
        raise field_error("/date_of_birth", "required for a ЛНЧ, which encodes no birth date")
    if born > today:
        raise field_error("/date_of_birth", "date of birth is in the future")
    municipality = await settled_municipality(
        session, settlement_code=data.settlement_code, municipality_code=data.municipality_code
    )
    existing = await repository.child_by_pin_hash(session, digest)
    created = existing is None
    child = existing or Child(
        pin_hash=digest,
        given_name=data.given_name,
        family_name=data.family_name,
        date_of_birth=birth_date or data.date_of_birth,
        sex=data.sex,
        municipality_code=municipality,
        settlement_code=data.settlement_code,
        address=data.address,
    )
    if created:
        session.add(child)
        await session.flush()
    allowed = Decision(
        allowed=True, action=Action.register_child,
        reason="child registered" if created else "known PIN matched an existing child", purpose=decision.purpose,
        basis="public_task")
    await enforce(session, actor, allowed, resource_type="child", resource_id=child.id, child_id=child.id)
    if not created:
        return ChildMatch(id=child.id)
    return await child_read(session, child, today, show_address=may_see_address(actor, _no_relationships(child)))


def _no_relationships(child: Child) -> ChildFacts:
    return ChildFacts(child.id, child.municipality_code, frozenset(), frozenset(), frozenset(), frozenset())


class ChildMoved(Problem):
    """A provisional child's old id after its merge (DESIGN §3): 301 to the kept record, for a
    caller related to that record; the redirect is audited as the read it leads to."""

    status, slug, title = 301, "moved-permanently", "The child's record was merged into another"

    def __init__(self, actor: Principal, decision: Decision, *, old_id: uuid.UUID, new_id: uuid.UUID, suffix: str):
        location = f"/api/v1/children/{new_id}{suffix}"
        super().__init__(
            "this provisional record was merged into the record identified by the child's PIN",
            headers={"Location": location}, child_id=str(new_id),
        )
        self.audit_entry = audit_record(
            actor, Decision(allowed=True, action=decision.action, reason="merged record: redirected to the kept child",
                            purpose=decision.purpose,
                            basis=decision.basis),
            "child", old_id, new_id,
        )


_SUFFIXES = {Action.read_child_history: "/history", Action.manage_consents: "/consents"}


async def _readable_child(
    session: AsyncSession, *, actor: Principal, child: Child | None, action: Action,
    purpose: Purpose | None, today: date, child_id: uuid.UUID | None = None,
) -> Child:
    """The child if the caller's organisation is related to it; otherwise an audited 404."""
    if child is None:
        decision = decide(actor, action, purpose=purpose)
        if decision.allowed:
            decision = Decision(
                allowed=False, action=action, reason="no such child", purpose=decision.purpose, deny_status=404)
        raise AccessDenied(actor, decision, resource_type="child", resource_id=str(child_id) if child_id else None)
    if child.merged_into_id is not None:
        kept = await repository.get_child(session, child.merged_into_id)
        if kept is not None:
            facts = await repository.child_facts(session, kept, today)
            decision = decide_child(actor, action, facts, purpose=purpose)
            if not decision.allowed:
                raise AccessDenied(actor, decision, resource_type="child", resource_id=str(child.id),
                                   child_id=child.id)
            raise ChildMoved(actor, decision, old_id=child.id, new_id=kept.id, suffix=_SUFFIXES.get(action, ""))
    facts = await repository.child_facts(session, child, today)
    decision = decide_child(actor, action, facts, purpose=purpose)
    await enforce(session, actor, decision, resource_type="child", resource_id=child.id, child_id=child.id)
    return child


async def visible_child(
    session: AsyncSession, *, actor: Principal, child: Child, action: Action, purpose: Purpose | None, today: date,
) -> ChildRead:
    """A related child (already decided) as this caller sees it."""
    facts = await repository.child_facts(session, child, today)
    return await child_read(session, child, today, show_address=may_see_address(actor, facts))


async def read(
    session: AsyncSession, *, actor: Principal, child_id: uuid.UUID, purpose: Purpose | None, today: date
) -> ChildRead:
    child = await repository.get_child(session, child_id)
    child = await _readable_child(
        session, actor=actor, child=child, action=Action.read_child, purpose=purpose, today=today,
        child_id=child_id,
    )
    return await visible_child(session, actor=actor, child=child, action=Action.read_child, purpose=purpose,
                               today=today)


async def lookup(
    session: AsyncSession, *, actor: Principal, pin: str, pin_secret: bytes, purpose: Purpose | None,
    today: date,
) -> ChildRead:
    """A child by PIN, if the caller's organisation is related to it; a police unit finds the
    children of the municipalities it serves (identity only, for law enforcement)."""
    decision = decide(actor, Action.lookup_child, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="child")
    digest, _ = pin_hash_or_422(pin, pin_secret)
    child = await repository.child_by_pin_hash(session, digest)
    child = await _readable_child(
        session, actor=actor, child=child, action=Action.lookup_child, purpose=purpose, today=today
    )
    read = await visible_child(session, actor=actor, child=child, action=Action.lookup_child, purpose=purpose,
                               today=today)
    if actor.organisation_kind is OrganisationKind.police:
        # a police lookup is identity only (DESIGN §4 point 2): not where the child is at school
        return read.model_copy(update={"current_enrolment": None})
    return read


async def readable_child(
    session: AsyncSession, *, actor: Principal, child_id: uuid.UUID, action: Action,
    purpose: Purpose | None, today: date,
) -> Child:
    """For other domains (alerts, history): the child, after the audited relationship check."""
    child = await repository.get_child(session, child_id)
    return await _readable_child(
        session, actor=actor, child=child, action=action, purpose=purpose, today=today, child_id=child_id
    )


def _enrolment_read(enrolment: Enrolment) -> EnrolmentRead:
    return EnrolmentRead.model_validate(enrolment, from_attributes=True)


class EnrolmentConflict(Conflict):
    """A refused enrolment write (409), written to the audit trail by the problem handler. Its
    text names no school and no child: the caller may not be related to either."""

    def __init__(
        self, actor: Principal, detail: str, *, reason: str, child_id: uuid.UUID,
        enrolment_id: uuid.UUID | None = None,
    ) -> None:
        super().__init__(detail)
        self.audit_entry = audit_record(
            actor, Decision(allowed=False, action=Action.manage_enrolments, reason=reason, deny_status=409),
            "enrolment", enrolment_id, child_id,
        )


def enrolled_elsewhere(actor: Principal, child_id: uuid.UUID) -> EnrolmentConflict:
    return EnrolmentConflict(
        actor,
        "the child is enrolled at another school, which has not released the pupil to this school; "
        "the sending school releases the pupil first (POST /enrolments/{id}/release)",
        reason="child enrolled at another school and not released to the caller's school",
        child_id=child_id,
    )


def released_to(enrolment: Enrolment, school_id: uuid.UUID) -> bool:
    """Whether the release on `enrolment` lets `school_id` enrol the pupil: a release to that
    school, `abroad` or `unknown`."""
    if enrolment.release_destination is None:
        return False
    return (
        enrolment.release_destination != ReleaseDestination.school.value
        or enrolment.release_school_id == school_id
    )


def _overlaps(enrolment: Enrolment, start: date, end: date | None) -> bool:
    return (end is None or enrolment.start_date <= end) and (
        enrolment.end_date is None or enrolment.end_date >= start
    )


async def enrol(
    session: AsyncSession, *, actor: Principal, data: EnrolmentCreate, today: date
) -> EnrolmentRead:
    """Enrol a child at the caller's school. A pupil of another school is enrolled only after
    that school released it here (or abroad or to an unknown destination), from the day after
    the release; nobody else's enrolment is ever ended by it (DESIGN §3 Enrolment)."""
    decision = decide(actor, Action.manage_enrolments)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="enrolment")
    if data.school_id != actor.organisation_id or actor.organisation_kind is not OrganisationKind.school:
        raise field_error("/school_id", "a school administrator enrols pupils at their own school")
    if data.end_date is not None and data.end_date < data.start_date:
        raise field_error("/end_date", "end date is before the start date")
    child = await repository.lock_child(session, data.child_id)
    if child is None:
        raise field_error("/child_id", "no such child")
    if child.merged_into_id is not None:
        raise field_error("/child_id", "this record was merged into the child's PIN record; enrol that one")
    enrolments = await repository.enrolments_of(session, child.id)
    if data.end_date is None and any(e.school_id == data.school_id and e.end_date is None for e in enrolments):
        raise ValidationProblem(
            "the child is already enrolled at this school",
            errors=[{"pointer": "#/child_id", "detail": "already enrolled here"}],
        )
    overlapping = [
        e for e in enrolments if e.school_id != data.school_id and _overlaps(e, data.start_date, data.end_date)
    ]
    if any(not released_to(e, data.school_id) for e in overlapping):
        raise enrolled_elsewhere(actor, child.id)
    if overlapping:
        raise field_error("/start_date", "the pupil is released from the day after the release date; start then")
    before = [e for e in enrolments if e.start_date <= data.start_date]
    if before and before[-1].school_id != data.school_id and before[-1].release_destination is not None \
            and not released_to(before[-1], data.school_id):
        # a transfer certificate to a named school holds the pupil for that school
        raise enrolled_elsewhere(actor, child.id)
    enrolment = Enrolment(
        child_id=child.id, school_id=data.school_id, grade=data.grade,
        start_date=data.start_date, end_date=data.end_date,
    )
    session.add(enrolment)
    await session.flush()
    await enforce(
        session, actor,
        Decision(
            allowed=True, action=Action.manage_enrolments, reason="pupil enrolled", purpose=None, basis="public_task"),
        resource_type="enrolment", resource_id=enrolment.id, child_id=child.id,
    )
    return _enrolment_read(enrolment)


async def own_enrolment(session: AsyncSession, *, actor: Principal, enrolment_id: uuid.UUID) -> Enrolment:
    """An enrolment of the caller's school, for changing it (403 for roles that may not; an
    audited 404 for another school's or an unknown one)."""
    decision = decide(actor, Action.manage_enrolments)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="enrolment", resource_id=str(enrolment_id))
    enrolment = await repository.get_enrolment(session, enrolment_id)
    if enrolment is None or enrolment.school_id != actor.organisation_id:
        hidden = Decision(
            allowed=False, action=Action.manage_enrolments, reason="not an enrolment of the caller's school",
            deny_status=404)
        raise AccessDenied(actor, hidden, resource_type="enrolment", resource_id=str(enrolment_id))
    return enrolment


async def update_enrolment(
    session: AsyncSession, *, actor: Principal, enrolment_id: uuid.UUID, data: EnrolmentUpdate
) -> EnrolmentRead:
    enrolment = await own_enrolment(session, actor=actor, enrolment_id=enrolment_id)
    if data.end_date is not None and data.end_date != enrolment.end_date:
        if data.end_date < enrolment.start_date:
            raise field_error("/end_date", "end date is before the start date")
        await repository.lock_child(session, enrolment.child_id)
        # read after the lock: a release committed meanwhile is seen
        await session.refresh(enrolment)
        if enrolment.release_destination is not None:
            raise EnrolmentConflict(
                actor, "the pupil was released; the enrolment ended on the release date",
                reason="end date of a released enrolment", child_id=enrolment.child_id, enrolment_id=enrolment.id,
            )
        others = [
            e for e in await repository.enrolments_of(session, enrolment.child_id)
            if e.school_id != enrolment.school_id and e.start_date >= enrolment.start_date
            and _overlaps(e, enrolment.start_date, data.end_date)
        ]
        if others:
            # a later end date must not take back a pupil another school has enrolled since
            raise enrolled_elsewhere(actor, enrolment.child_id)
        enrolment.end_date = data.end_date
    if data.grade is not None:
        enrolment.grade = data.grade
    await session.flush()
    await enforce(
        session, actor,
        Decision(
            allowed=True, action=Action.manage_enrolments, reason="enrolment updated", purpose=None,
            basis="public_task"),
        resource_type="enrolment", resource_id=enrolment.id, child_id=enrolment.child_id,
    )
    return _enrolment_read(enrolment)


__all__ = [
    "ChildMoved", "EnrolmentConflict", "NotFound", "enrol", "enrolled_elsewhere", "lookup", "own_enrolment", "read",
    "readable_child", "register", "released_to", "update_enrolment",
]
