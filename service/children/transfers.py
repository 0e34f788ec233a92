"""Releasing a pupil: the transfer certificate ("удостоверение за преместване", DESIGN §3).

The sending school releases its pupil to a named school, `abroad` or `unknown`. The enrolment
ends on the release date (the pupil is the sending school's through that day, so its absence
feed and its access run until then); from the day after, the named school (any school after
`abroad` or `unknown`) may enrol the pupil. A release to `unknown` raises `left_education`
through the ordinary alert path (routing, audit, outbox), with the releasing school as source.

It sits above both `children.service` and `alerts.service`, as `alerts.history` does.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import Decision, enforce
from service.access.principal import Principal
from service.access.vocabulary import Action, OrganisationKind
from service.alerts.details import AlertType
from service.alerts.schemas import AlertCreate, Severity
from service.alerts.service import create_alert
from service.children import repository
from service.children.models import Enrolment
from service.children.schemas import EnrolmentRelease, EnrolmentReleased, ReleaseDestination
from service.children.service import EnrolmentConflict, own_enrolment
from service.core.clock import utcnow
from service.core.problems import field_error
from service.organisations import repository as organisations

_REASONS = {
    ReleaseDestination.school: "pupil released to another school",
    ReleaseDestination.abroad: "pupil released abroad",
    ReleaseDestination.unknown: "pupil released to an unknown destination",
}


async def _check_destination(session: AsyncSession, enrolment: Enrolment, data: EnrolmentRelease) -> None:
    if data.destination is not ReleaseDestination.school:
        if data.school_id is not None:
            raise field_error("/school_id", "only a release to a school names one")
        return
    if data.school_id is None:
        raise field_error("/school_id", "a release to a school names the receiving school")
    if data.school_id == enrolment.school_id:
        raise field_error("/school_id", "a pupil is released to another school")
    receiving = await organisations.get_organisation(session, data.school_id)
    if receiving is None or receiving.kind != OrganisationKind.school.value:
        raise field_error("/school_id", "not a school")


async def release(
    session: AsyncSession, *, actor: Principal, enrolment_id: uuid.UUID, data: EnrolmentRelease, today: date
) -> EnrolmentReleased:
    """Release a pupil of the caller's school (its `school_admin`; another school's enrolment
    is an audited 404). Only a current enrolment is released, once."""
    enrolment = await own_enrolment(session, actor=actor, enrolment_id=enrolment_id)
    await repository.lock_child(session, enrolment.child_id)
    # read after the lock: a release committed meanwhile is seen, so only one passes
    await session.refresh(enrolment)
    await _check_destination(session, enrolment, data)
    day = data.date or today
    if enrolment.release_destination is not None:
        raise EnrolmentConflict(
            actor, "the pupil was already released", reason="pupil already released",
            child_id=enrolment.child_id, enrolment_id=enrolment.id,
        )
    if enrolment.start_date > today or (enrolment.end_date is not None and enrolment.end_date < today):
        raise EnrolmentConflict(
            actor, "only a current enrolment can be released", reason="release of an enrolment that is not current",
            child_id=enrolment.child_id, enrolment_id=enrolment.id,
        )
    if day < enrolment.start_date:
        raise field_error("/date", "the release date is before the enrolment started")
    if enrolment.end_date is not None and day > enrolment.end_date:
        raise field_error("/date", "the release date is after the enrolment ends")
    await enforce(
        session, actor,
        Decision(
            allowed=True, action=Action.manage_enrolments, reason=_REASONS[data.destination], purpose=None,
            basis="public_task",
        ),
        resource_type="enrolment", resource_id=enrolment.id, child_id=enrolment.child_id,
    )
    alert_id = None
    if data.destination is ReleaseDestination.unknown:
        # raised while the pupil is still enrolled here, which is the school's relationship
        # for raising an alert (the release may be dated back)
        alert = await create_alert(
            session,
            actor=actor,
            data=AlertCreate(
                child_id=enrolment.child_id,
                type=AlertType.left_education,
                severity=Severity.concern,
                details={"left_on": day.isoformat(), "last_grade": enrolment.grade},
            ),
            purpose=None,
            today=today,
        )
        alert_id = alert.id
    enrolment.end_date = day
    enrolment.release_destination = data.destination.value
    enrolment.release_school_id = data.school_id
    enrolment.released_at = utcnow()
    await session.flush()
    return EnrolmentReleased.model_validate(enrolment, from_attributes=True).model_copy(update={"alert_id": alert_id})
