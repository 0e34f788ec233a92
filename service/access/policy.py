"""The one policy decision point: `decide(principal, action, ...)` → allow or deny, reason, basis.

Routes never decide by themselves. Function-level rules (may this role attempt the action at
all?) and the purpose-of-use rule live here; object-level rules add relationship scopes in
`scopes.py`, beside this module, never in a route.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.principal import Principal
from service.access.vocabulary import ACTION_ROLES, Action, Purpose
from service.audit.service import AuditRecord, record
from service.core.problems import Forbidden, NotFound, Problem


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    allowed: bool
    action: Action
    reason: str
    purpose: Purpose | None = None
    basis: str | None = None
    consent_id: uuid.UUID | None = None
    break_glass: bool = False
    break_glass_reason: str | None = None
    #: status a denial answers with: 403 for function level, 404 when existence is hidden
    deny_status: int = 403


def decide(
    principal: Principal,
    action: Action,
    *,
    purpose: Purpose | None = None,
) -> Decision:
    """Function-level and purpose-of-use decision for `principal` attempting `action`.

    Without a declared purpose the role's default applies (DESIGN §4 point 3)."""
    purpose = purpose or principal.default_purpose
    permitted_roles = ACTION_ROLES[action]
    if not principal.roles & permitted_roles:
        return Decision(allowed=False, action=action, reason=f"role may not {action.value}", purpose=purpose)
    if purpose is not None and purpose not in principal.allowed_purposes:
        return Decision(
            allowed=False, action=action, reason=f"purpose {purpose.value} not allowed for role", purpose=purpose,
        )
    return Decision(allowed=True, action=action, reason="role permits action", purpose=purpose)


class AccessDenied(Problem):
    """A denial that the problem handler answers and records in the audit trail."""

    def __init__(
        self,
        principal: Principal,
        decision: Decision,
        *,
        resource_type: str | None = None,
        resource_id: str | None = None,
        child_id: uuid.UUID | None = None,
    ) -> None:
        shown: type[Problem] = NotFound if decision.deny_status == 404 else Forbidden
        self.status, self.slug, self.title = shown.status, shown.slug, shown.title
        detail = None if decision.deny_status == 404 else decision.reason
        super().__init__(detail)
        self.principal = principal
        self.decision = decision
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.child_id = child_id


def require(
    principal: Principal,
    action: Action,
    *,
    purpose: Purpose | None = None,
) -> Decision:
    """`decide`, raising `AccessDenied` (audited by the handler) when the answer is no."""
    decision = decide(principal, action, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(principal, decision)
    return decision


async def enforce(
    session: AsyncSession,
    principal: Principal,
    decision: Decision,
    *,
    resource_type: str,
    resource_id: uuid.UUID | str | None = None,
    child_id: uuid.UUID | None = None,
) -> Decision:
    """Audit an object-level decision: an allowed one in the caller's transaction (so the read
    or change and its event commit together), a denied one by raising `AccessDenied`."""
    if not decision.allowed:
        raise AccessDenied(
            principal, decision, resource_type=resource_type,
            resource_id=str(resource_id) if resource_id else None, child_id=child_id,
        )
    await record(session, audit_record(principal, decision, resource_type, resource_id, child_id))
    return decision


#: What the audit trail says of a refused write, by status: fixed words, never the problem's
#: detail (which may quote versions or values). DESIGN §4: refused writes are decisions too.
REFUSED_WRITES: dict[int, str] = {
    409: "write refused: conflicts with the current state",
    412: "write refused: If-Match is not the current version",
    428: "write refused: If-Match missing",
}


def refused_write(
    principal: Principal,
    problem: Problem,
    *,
    action: str,
    purpose: Purpose | None = None,
    resource_type: str | None = None,
    resource_id: uuid.UUID | str | None = None,
    child_id: uuid.UUID | None = None,
) -> Problem:
    """Attach to a refused write (409, 412, 428) the denial the problem handler audits;
    other problems, and those that carry their own event, pass unchanged."""
    reason = REFUSED_WRITES.get(problem.status)
    if reason is not None and problem.audit_entry is None:
        problem.audit_entry = AuditRecord(
            actor=principal,
            action=action,
            decision="deny",
            reason=reason,
            resource_type=resource_type,
            resource_id=str(resource_id) if resource_id else None,
            child_id=child_id,
            purpose=purpose.value if purpose else None,
        )
    return problem


def audit_record(
    principal: Principal,
    decision: Decision,
    resource_type: str | None,
    resource_id: uuid.UUID | str | None,
    child_id: uuid.UUID | None,
) -> AuditRecord:
    return AuditRecord(
        actor=principal,
        action=decision.action.value,
        decision="allow" if decision.allowed else "deny",
        reason=decision.reason,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id else None,
        child_id=child_id,
        purpose=decision.purpose.value if decision.purpose else None,
        basis=decision.basis,
        consent_id=decision.consent_id,
        break_glass=decision.break_glass,
        break_glass_reason=decision.break_glass_reason,
    )


def audit_entry_of(problem: Problem) -> AuditRecord | None:
    """The audit event a refusal carries: an access denial's decision, or the entry another
    problem (a failed sign-in, a refused form) was raised with."""
    if isinstance(problem, AccessDenied):
        return audit_record(problem.principal, problem.decision, problem.resource_type, problem.resource_id,
                            problem.child_id)
    entry = getattr(problem, "audit_entry", None)
    return entry if isinstance(entry, AuditRecord) else None
