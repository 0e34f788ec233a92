"""Children without a known ЕГН (DESIGN §3 Provisional child): registering them from the field,
and merging a provisional record into the PIN-identified one when the PIN is found.

A provisional child is identified by names, an approximate year of birth, sex and settlement:
registering the same child again (same settlement, year and sex, the same names in any letter
case) answers the existing id. When the PIN becomes known, `merge` moves the provisional
record's alerts (with their recipients and actions), enrolments, consents and absence figures
to the PIN-identified record, and the old id answers 301 to the kept one. A PIN nobody has yet
is simply given to the provisional record. Two records that both have a PIN are never merged.

Like `transfers`, it sits above `children.service` and the domains whose records move.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.absences import repository as absences
from service.access.policy import AccessDenied, Decision, audit_record, decide, enforce
from service.access.principal import Principal
from service.access.relationships import (
    decide_child,
    decide_provisional_registration,
    may_see_address,
    user_id_of,
)
from service.access.vocabulary import Action, Purpose
from service.children import repository
from service.children.models import Child
from service.children.schemas import ChildMatch, ChildMerge, ChildMerged, ChildRead, ProvisionalChildCreate
from service.children.service import child_read, pin_hash_or_422, settled_municipality
from service.core.clock import utcnow
from service.core.problems import Conflict, field_error

#: how far the PIN's year of birth may be from a provisional child's approximate one
BIRTH_YEAR_TOLERANCE = 2
#: the sex of a child a list names without saying it
UNKNOWN_SEX = "unknown"


class MergeRefused(Conflict):
    """A refused merge (409), audited by the problem handler."""

    def __init__(self, actor: Principal, detail: str, *, reason: str, child_id: uuid.UUID) -> None:
        super().__init__(detail)
        self.audit_entry = audit_record(
            actor, Decision(allowed=False, action=Action.merge_children, reason=reason,
                            deny_status=409), "child", child_id, child_id
        )


async def register_provisional(
    session: AsyncSession, *, actor: Principal, data: ProvisionalChildCreate, purpose: Purpose | None, today: date
) -> ChildRead | ChildMatch:
    """Register a child met in the field whose PIN is not known, or match the provisional record
    already made for it. Child protection and coordinators register children of the
    municipalities their organisation serves; a team member, children of the team's area."""
    base = decide(actor, Action.register_provisional_child, purpose=purpose)
    user_id = user_id_of(actor)
    if not base.allowed and user_id is None:
        raise AccessDenied(actor, base, resource_type="child")
    if data.birth_year > today.year:
        raise field_error("/birth_year", "the year of birth is in the future")
    if data.birth_year < today.year - 25:
        raise field_error("/birth_year", "Obhvat is about children: born within the last 25 years")
    municipality = await settled_municipality(session, settlement_code=data.settlement_code, municipality_code=None)
    member = (
        user_id is not None and municipality is not None
        and await repository.on_team_covering(session, user_id, municipality_code=municipality,
                                              settlement_code=data.settlement_code)
    )
    decision = decide_provisional_registration(actor, municipality, member_of_covering_team=member, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="child")
    child, made = await provisional_child(
        session, given_name=data.given_name, family_name=data.family_name, birth_year=data.birth_year,
        sex=data.sex, settlement_code=data.settlement_code, municipality_code=municipality, address=data.address,
    )
    await enforce(
        session, actor,
        Decision(allowed=True, action=decision.action,
                 reason="provisional child registered" if made else "known provisional child matched",
                 purpose=decision.purpose, basis="public_task"),
        resource_type="child", resource_id=child.id, child_id=child.id,
    )
    if not made:
        return ChildMatch(id=child.id)
    facts = await repository.child_facts(session, child, today)
    return await child_read(session, child, today, show_address=may_see_address(actor, facts))


async def provisional_child(
    session: AsyncSession, *, given_name: str, family_name: str, birth_year: int, sex: str, settlement_code: str,
    municipality_code: str | None, address: str | None = None,
) -> tuple[Child, bool]:
    """The provisional child with these names (in any letter case), year of birth, sex and
    settlement, or a new one: (child, made). A sex of `unknown` (a list that does not say) matches
    either, and a match learns the sex it lacked. The caller has decided and audits."""
    names = (given_name.casefold(), family_name.casefold())
    for candidate in await repository.provisional_candidates(
        session, settlement_code=settlement_code, birth_year=birth_year, sex=sex
    ):
        if ((candidate.given_name or "").casefold(), (candidate.family_name or "").casefold()) == names:
            if candidate.sex == UNKNOWN_SEX and sex != UNKNOWN_SEX:
                candidate.sex = sex
            await session.flush()
            return candidate, False
    child = Child(
        given_name=given_name, family_name=family_name, birth_year=birth_year, sex=sex,
        settlement_code=settlement_code, municipality_code=municipality_code, address=address,
    )
    session.add(child)
    await session.flush()
    return child, True


async def _related(
    session: AsyncSession, actor: Principal, child: Child | None, child_id: uuid.UUID, base: Decision, today: date
) -> Child:
    """The child, if the caller's organisation may see its identity; else an audited 404."""
    if child is None or child.merged_into_id is not None or child.anonymised_at is not None:
        # a role that may not merge at all hears that, whether or not the child exists
        raise AccessDenied(
            actor, base if not base.allowed else Decision(
                allowed=False, action=base.action, reason="no such child", purpose=base.purpose, deny_status=404),
            resource_type="child", resource_id=str(child_id),
        )
    facts = await repository.child_facts(session, child, today)
    decision = decide_child(actor, Action.merge_children, facts, purpose=base.purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="child", resource_id=str(child.id), child_id=child.id)
    return child


def _check_birth_year(source: Child, born: date | None, pointer: str) -> None:
    if source.birth_year is not None and born is not None and abs(born.year - source.birth_year) > BIRTH_YEAR_TOLERANCE:
        raise field_error(
            pointer,
            f"the PIN's year of birth is more than {BIRTH_YEAR_TOLERANCE} years from the provisional "
            f"record's (about {source.birth_year}): check that they are the same child",
        )


async def merge(
    session: AsyncSession, *, actor: Principal, child_id: uuid.UUID, data: ChildMerge, pin_secret: bytes,
    purpose: Purpose | None, today: date,
) -> ChildMerged:
    base = decide(actor, Action.merge_children, purpose=purpose)
    if not base.allowed and user_id_of(actor) is None:
        raise AccessDenied(actor, base, resource_type="child", resource_id=str(child_id))
    # a person whose role may not merge may still be on the team of the child's case (decide_child)
    source = await _related(session, actor, await repository.get_child(session, child_id), child_id, base, today)

    if data.pin is not None:
        digest, born = pin_hash_or_422(data.pin, pin_secret)
        kept = await repository.child_by_pin_hash(session, digest)
        if kept is not None and kept.id == source.id:
            raise field_error("/pin", "this record already has this PIN")
        if kept is None:
            if source.pin_hash is not None:
                raise MergeRefused(
                    actor, "this record already has another PIN; a PIN is never replaced",
                    reason="merge refused: the record has another PIN", child_id=source.id,
                )
            return await _identify(session, actor=actor, base=base, source=source, digest=digest, born=born)
        pointer = "/pin"
    else:
        assert data.child_id is not None  # noqa: S101 - ChildMerge requires pin or child_id
        if data.child_id == source.id:
            raise field_error("/child_id", "a record is not merged into itself")
        kept = await _related(
            session, actor, await repository.get_child(session, data.child_id), data.child_id, base, today
        )
        pointer = "/child_id"

    if source.pin_hash is not None and kept.pin_hash is not None:
        raise MergeRefused(
            actor,
            "both records have a PIN: they are two identified children and are never merged",
            reason="merge refused: both records have a PIN", child_id=source.id,
        )
    if source.pin_hash is not None or kept.pin_hash is None:
        raise field_error(
            pointer,
            "a provisional record (no PIN) is merged into the record that has the PIN: "
            "POST /children/{provisional id}/merge",
        )
    locked = await repository.lock_children(session, [source.id, kept.id])
    source, kept = locked[source.id], locked[kept.id]
    _check_birth_year(source, kept.date_of_birth, pointer)
    open_source = await repository.open_enrolment(session, source.id)
    open_kept = await repository.open_enrolment(session, kept.id)
    if open_source is not None and open_kept is not None:
        raise MergeRefused(
            actor, "both records are enrolled at a school now; the school ends one of the enrolments first",
            reason="merge refused: both records currently enrolled", child_id=source.id,
        )
    moved = await repository.move_child_records(session, source=source.id, kept=kept.id)
    figures = await absences.move_child_figures(session, source=source.id, kept=kept.id)
    kept.settlement_code = kept.settlement_code or source.settlement_code
    kept.address = kept.address or source.address
    kept.municipality_code = kept.municipality_code or source.municipality_code
    source.merged_into_id = kept.id
    source.merged_at = utcnow()
    # the kept record holds the identity now; the old one keeps only its id and the pointer
    source.given_name = source.family_name = source.address = None
    await session.flush()
    for child, reason in (
        (source, "provisional child merged into the PIN-identified record"),
        (kept, "provisional record merged into this child"),
    ):
        await enforce(
            session, actor, Decision(allowed=True, action=base.action, reason=reason, purpose=base.purpose,
                                     basis="public_task"),
            resource_type="child", resource_id=child.id, child_id=child.id,
        )
    return ChildMerged(
        id=kept.id, merged_child_id=source.id, alerts_moved=moved["alerts"], enrolments_moved=moved["enrolments"],
        consents_moved=moved["consents"], absence_reports_moved=figures,
    )


async def _identify(
    session: AsyncSession, *, actor: Principal, base: Decision, source: Child, digest: str, born: date | None
) -> ChildMerged:
    """A PIN nobody has yet: the provisional record takes it and is a PIN-identified child."""
    await repository.lock_child(session, source.id)
    _check_birth_year(source, born, "/pin")
    source.pin_hash = digest
    if born is not None:
        source.date_of_birth = born
        source.birth_year = None
    await session.flush()
    await enforce(
        session, actor, Decision(allowed=True, action=base.action, reason="provisional child identified by its PIN",
                                 purpose=base.purpose,
                                 basis="public_task"),
        resource_type="child", resource_id=source.id, child_id=source.id,
    )
    return ChildMerged(
        id=source.id, merged_child_id=None, alerts_moved=0, enrolments_moved=0, consents_moved=0,
        absence_reports_moved=0,
    )
