"""Is this child known to child protection, and whom do I call? (DESIGN §4 point 7)

Police, schools and the juvenile commission ask with a PIN. The answer is yes or no and, if
yes, the department to call — never a detail of any case. "Known" means an alert about the
child routed to a child protection department that is open, or was closed in the last 12
months. Every question is audited, counted against the asker (past the limit: 429), and told
to the department named in the answer through its inbox (who asked, when, with what purpose
and reason), as the UK's CP-IS does, so an unusual pattern of questions is seen.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, audit_record, decide, enforce
from service.access.principal import Principal
from service.access.vocabulary import Action, Purpose
from service.alerts import feed, repository
from service.alerts.models import InboxNotice
from service.alerts.schemas import KnownToCp, KnownToCpDepartment
from service.audit import free_text
from service.auth import throttle
from service.children import repository as children
from service.children.service import pin_hash_or_422
from service.core.clock import utcnow
from service.core.problems import TooManyRequests
from service.delivery import mail
from service.notices.events import NoticeEvent

NOTICE_KIND = "known_to_cp_question"


class QuestionsThrottled(TooManyRequests):
    """Too many questions from this user: refused for a while, and the refusal audited."""

    def __init__(self, actor: Principal, decision: Decision, seconds: int) -> None:
        super().__init__(
            "too many questions about children in a short time; try again later",
            headers={"Retry-After": str(seconds)},
        )
        refused = Decision(
            allowed=False, action=decision.action, reason="too many known-to-cp questions", purpose=decision.purpose
        )
        self.audit_entry = audit_record(actor, refused, "child", None, None)


def _year_before(moment: datetime) -> datetime:
    """The same moment twelve months earlier (29 February: the 28th)."""
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:
        return moment.replace(year=moment.year - 1, day=28)


async def ask(
    session: AsyncSession, *, actor: Principal, pin: str, reason: str | None, pin_secret: bytes,
    purpose: Purpose | None,
) -> KnownToCp:
    decision = decide(actor, Action.ask_known_to_cp, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="child")
    digest, _ = pin_hash_or_422(pin, pin_secret)
    key = throttle.question_key(actor.id)
    wait = await throttle.retry_after(session, [key])
    if wait is not None:
        raise QuestionsThrottled(actor, decision, wait)
    await throttle.record_failure(session, [key])

    now = utcnow()
    child = await children.child_by_pin_hash(session, digest)
    departments = [] if child is None else await repository.departments_knowing(session, child.id, _year_before(now))
    known = bool(departments)
    answered = Decision(
        allowed=True,
        action=decision.action,
        reason="asked whether known to child protection: " + ("known" if known else "not known"),
        purpose=decision.purpose,
        basis="public_task",
    )
    await enforce(
        session, actor, answered, resource_type="child",
        resource_id=child.id if child else None, child_id=child.id if child else None,
    )
    if child is None or not departments:
        return KnownToCp(known=False, department=None)
    department = departments[0]
    (position,) = await feed.positions(session, 1)
    await repository.add_notice(
        session,
        InboxNotice(
            organisation_id=department.id,
            kind=NOTICE_KIND,
            child_id=child.id,
            actor_organisation_id=actor.organisation_id,
            actor_id=actor.id,
            purpose=decision.purpose.value if decision.purpose else None,
            reason_sha256=await free_text.keep(session, reason) if reason else None,
            created_at=now,
            change_seq=position,
        ),
    )
    await mail.notify(session, event=NoticeEvent.known_to_cp, payload={}, organisations=[department.id])
    return KnownToCp(
        known=True,
        department=KnownToCpDepartment(name=department.name, phone=department.phone, email=department.email),
    )


__all__ = ["NOTICE_KIND", "QuestionsThrottled", "ask"]
