"""Routing rules as data: which kinds of organisation each alert type reaches, and its basis."""

from __future__ import annotations

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.principal import Principal
from service.alerts import repository
from service.alerts.details import AlertType
from service.alerts.models import RoutingRule
from service.alerts.schemas import LegalBasis, RoutingRuleBody, RoutingRules
from service.audit.service import AuditRecord, record
from service.core.clock import utcnow
from service.core.problems import ValidationProblem


async def read(session: AsyncSession) -> RoutingRules:
    return RoutingRules(
        items=[
            RoutingRuleBody.model_validate(rule, from_attributes=True)
            for rule in await repository.routing_rules(session)
        ]
    )


async def replace(session: AsyncSession, *, actor: Principal, data: RoutingRules) -> RoutingRules:
    """Replace the whole rule set; every alert type must keep exactly one rule."""
    seen: dict[str, int] = {}
    errors = []
    for index, rule in enumerate(data.items):
        if rule.alert_type.value in seen:
            errors.append({"pointer": f"#/items/{index}/alert_type", "detail": "alert type listed twice"})
        seen[rule.alert_type.value] = index
        if len(set(rule.recipient_kinds)) != len(rule.recipient_kinds):
            errors.append({"pointer": f"#/items/{index}/recipient_kinds", "detail": "a kind is listed twice"})
        # DESIGN §3: public bodies share under legal obligation or public task; consent is only
        # the sharing condition of support_needed referrals to providers (which always use it)
        is_referral = rule.alert_type is AlertType.support_needed
        if (rule.legal_basis is LegalBasis.consent) != is_referral:
            errors.append({
                "pointer": f"#/items/{index}/legal_basis",
                "detail": "support_needed is shared on the basis of consent"
                if is_referral else "public bodies share under legal_obligation or public_task, not consent",
            })
    missing = sorted(t.value for t in AlertType if t.value not in seen)
    if missing:
        errors.append({"pointer": "#/items", "detail": f"no rule for {', '.join(missing)}"})
    if errors:
        raise ValidationProblem(errors[0]["detail"], errors=errors)
    await session.execute(delete(RoutingRule))
    await session.execute(
        insert(RoutingRule),
        [
            {
                "alert_type": r.alert_type.value,
                "recipient_kinds": [k.value for k in r.recipient_kinds],
                "legal_basis": r.legal_basis.value,
                "forced_severity": r.forced_severity.value if r.forced_severity else None,
                "updated_at": utcnow(),
            }
            for r in data.items
        ],
    )
    await record(
        session,
        AuditRecord(
            actor=actor,
            action="routing_rules.replace",
            decision="allow",
            reason="administrator changed configuration",
            resource_type="routing_rules",
        ),
    )
    return await read(session)
