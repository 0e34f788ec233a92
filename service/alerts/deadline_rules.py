"""Deadline and escalation rules as data, edited by the platform administrator."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import require
from service.access.principal import Principal
from service.access.vocabulary import Action
from service.alerts.models import DeadlineRule, EscalationRule
from service.alerts.schemas import Severity
from service.audit.service import AuditRecord, record
from service.core.problems import ValidationProblem
from service.core.schemas import RequestModel
from service.organisations.models import Organisation


class DeadlineRuleBody(RequestModel):
    severity: Severity
    hours: int | None = Field(default=None, ge=1, le=24 * 30)
    working_days: int | None = Field(default=None, ge=1, le=60)

    @model_validator(mode="after")
    def _one_measure(self) -> DeadlineRuleBody:
        if (self.hours is None) == (self.working_days is None):
            raise ValueError("give either hours or working_days")
        return self


class DeadlineRules(BaseModel):
    items: list[DeadlineRuleBody] = Field(description="severities without a rule have no deadline")


class EscalationRuleBody(RequestModel):
    severity: Severity
    municipality_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}[0-9]{2}$")] | None = None
    organisation_id: uuid.UUID


class EscalationRules(BaseModel):
    items: list[EscalationRuleBody]


async def _audit(session: AsyncSession, actor: Principal, what: str) -> None:
    await record(
        session,
        AuditRecord(
            actor=actor,
            action=f"{what}.replace",
            decision="allow",
            reason="administrator changed configuration",
            resource_type=what,
        ),
    )


async def read_deadlines(session: AsyncSession, *, actor: Principal) -> DeadlineRules:
    require(actor, Action.manage_rules)
    rows = (await session.execute(select(DeadlineRule).order_by(DeadlineRule.severity))).scalars()
    return DeadlineRules(items=[DeadlineRuleBody.model_validate(r, from_attributes=True) for r in rows])


async def replace_deadlines(session: AsyncSession, *, actor: Principal, data: DeadlineRules) -> DeadlineRules:
    require(actor, Action.manage_rules)
    severities = [r.severity for r in data.items]
    if len(set(severities)) != len(severities):
        raise ValidationProblem(
            "a severity is listed twice", errors=[{"pointer": "#/items", "detail": "a severity is listed twice"}]
        )
    await session.execute(delete(DeadlineRule))
    if data.items:
        await session.execute(
            insert(DeadlineRule), [{**r.model_dump(), "severity": r.severity.value} for r in data.items]
        )
    await _audit(session, actor, "deadline_rules")
    return await read_deadlines(session, actor=actor)


async def read_escalations(session: AsyncSession, *, actor: Principal) -> EscalationRules:
    require(actor, Action.manage_rules)
    rows = (await session.execute(select(EscalationRule).order_by(EscalationRule.severity))).scalars()
    return EscalationRules(items=[EscalationRuleBody.model_validate(r, from_attributes=True) for r in rows])


async def replace_escalations(session: AsyncSession, *, actor: Principal, data: EscalationRules) -> EscalationRules:
    require(actor, Action.manage_rules)
    errors = [
        {"pointer": f"#/items/{i}/organisation_id", "detail": "no such organisation"}
        for i, r in enumerate(data.items)
        if await session.get(Organisation, r.organisation_id) is None
    ]
    if errors:
        raise ValidationProblem(errors[0]["detail"], errors=errors)
    await session.execute(delete(EscalationRule))
    if data.items:
        await session.execute(
            insert(EscalationRule),
            [{"id": uuid.uuid4(), **r.model_dump(), "severity": r.severity.value} for r in data.items],
        )
    await _audit(session, actor, "escalation_rules")
    return await read_escalations(session, actor=actor)
