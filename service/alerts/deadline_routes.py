"""Deadline and escalation rules API, for the platform administrator."""

from __future__ import annotations

from service.alerts import deadline_rules as rules
from service.alerts.deadline_rules import DeadlineRules, EscalationRules
from service.auth.dependencies import CurrentPrincipal
from service.core.database import DbSession, api_router
from service.core.problems import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationProblem,
    problem_responses,
)

router = api_router(tags=["rules"])
_ERRORS = problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, ValidationProblem)


@router.get("/deadline-rules", response_model=DeadlineRules, responses=_ERRORS)
async def read_deadline_rules(session: DbSession, principal: CurrentPrincipal) -> DeadlineRules:
    return await rules.read_deadlines(session, actor=principal)


@router.put("/deadline-rules", response_model=DeadlineRules, responses=_ERRORS)
async def replace_deadline_rules(body: DeadlineRules, session: DbSession, principal: CurrentPrincipal) -> DeadlineRules:
    return await rules.replace_deadlines(session, actor=principal, data=body)


@router.get("/escalation-rules", response_model=EscalationRules, responses=_ERRORS)
async def read_escalation_rules(session: DbSession, principal: CurrentPrincipal) -> EscalationRules:
    return await rules.read_escalations(session, actor=principal)


@router.put("/escalation-rules", response_model=EscalationRules, responses=_ERRORS)
async def replace_escalation_rules(
    body: EscalationRules, session: DbSession, principal: CurrentPrincipal
) -> EscalationRules:
    return await rules.replace_escalations(session, actor=principal, data=body)
