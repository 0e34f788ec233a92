"""Recording, listing and withdrawing a guardian's consent to share with service providers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.consent import consent_state
from service.access.policy import AccessDenied, Decision, decide, enforce
from service.access.principal import Principal
from service.access.vocabulary import Action, OrganisationKind, Purpose
from service.children.service import readable_child
from service.consent import repository
from service.consent.models import Consent
from service.consent.schemas import (
    ConsentCreate,
    ConsentPurpose,
    ConsentRead,
    ConsentState,
    ConsentWithdraw,
    GuardianRelationship,
)
from service.core.clock import utcnow
from service.core.problems import Conflict, ValidationProblem
from service.organisations import repository as organisations


def _read(consent: Consent, recipients: list[uuid.UUID], today: date) -> ConsentRead:
    return ConsentRead(
        id=consent.id,
        child_id=consent.child_id,
        guardian_name=consent.guardian_name,
        guardian_relationship=GuardianRelationship(consent.guardian_relationship),
        purposes=[ConsentPurpose(p) for p in consent.purposes],
        recipient_ids=sorted(recipients, key=str),
        valid_from=consent.valid_from,
        valid_until=consent.valid_until,
        evidence=consent.evidence,
        recorded_by=consent.recorded_by,
        recorded_by_organisation_id=consent.recorded_by_organisation_id,
        created_at=consent.created_at,
        state=ConsentState(consent_state(repository.facts(consent, recipients), today)),
        withdrawn_at=consent.withdrawn_at,
        withdrawal_reason=consent.withdrawal_reason,
    )


async def _check_recipients(session: AsyncSession, recipient_ids: list[uuid.UUID]) -> None:
    errors = []
    for index, org_id in enumerate(recipient_ids):
        organisation = await organisations.get_organisation(session, org_id)
        if organisation is None:
            errors.append({"pointer": f"#/recipient_ids/{index}", "detail": "no such organisation"})
        elif organisation.kind != OrganisationKind.service_provider.value:
            errors.append(
                {
                    "pointer": f"#/recipient_ids/{index}",
                    "detail": f"consent covers service providers, not a {organisation.kind}",
                }
            )
    if errors:
        raise ValidationProblem(errors[0]["detail"], errors=errors)


async def record(
    session: AsyncSession,
    *,
    actor: Principal,
    child_id: uuid.UUID,
    data: ConsentCreate,
    purpose: Purpose | None,
    today: date,
) -> ConsentRead:
    base = decide(actor, Action.manage_consents, purpose=purpose)
    if not base.allowed:
        raise AccessDenied(actor, base, resource_type="consent", child_id=child_id)
    await readable_child(
        session, actor=actor, child_id=child_id, action=Action.read_child, purpose=purpose, today=today
    )
    await _check_recipients(session, data.recipient_ids)
    consent = Consent(
        child_id=child_id,
        guardian_name=data.guardian_name,
        guardian_relationship=data.guardian_relationship.value,
        purposes=sorted({p.value for p in data.purposes}),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        evidence=data.evidence,
        recorded_by=actor.id,
        # readable_child above has refused (audited) a principal without an organisation
        recorded_by_organisation_id=cast(uuid.UUID, actor.organisation_id),
    )
    await repository.add(session, consent, data.recipient_ids)
    await enforce(
        session,
        actor,
        Decision(
            allowed=True, action=Action.manage_consents, reason="guardian consent recorded", purpose=base.purpose,
            basis="consent", consent_id=consent.id,
        ),
        resource_type="consent",
        resource_id=consent.id,
        child_id=child_id,
    )
    return _read(consent, list(dict.fromkeys(data.recipient_ids)), today)


async def list_for_child(
    session: AsyncSession,
    *,
    actor: Principal,
    child_id: uuid.UUID,
    purpose: Purpose | None,
    today: date,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> tuple[list[ConsentRead], tuple[datetime, uuid.UUID] | None]:
    """A page of the child's consents, oldest first."""
    base = decide(actor, Action.manage_consents, purpose=purpose)
    if not base.allowed:
        raise AccessDenied(actor, base, resource_type="consent", child_id=child_id)
    await readable_child(
        session, actor=actor, child_id=child_id, action=Action.read_child, purpose=purpose, today=today
    )
    rows = await repository.page_for_child(session, child_id, limit=limit + 1, after=after)
    page = rows[:limit]
    recipients = await repository.recipients_of(session, [c.id for c in page])
    last = (page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return [_read(c, recipients[c.id], today) for c in page], last


async def withdraw(
    session: AsyncSession,
    *,
    actor: Principal,
    consent_id: uuid.UUID,
    data: ConsentWithdraw,
    purpose: Purpose | None,
    today: date,
) -> ConsentRead:
    """Withdrawal stops sharing from this moment; the record stays."""
    base = decide(actor, Action.manage_consents, purpose=purpose)
    if not base.allowed:
        raise AccessDenied(actor, base, resource_type="consent", resource_id=str(consent_id))
    consent = await repository.get(session, consent_id, for_update=True)
    if consent is None:
        raise AccessDenied(
            actor,
            Decision(
                allowed=False, action=Action.manage_consents, reason="no such consent", purpose=base.purpose,
                deny_status=404,
            ),
            resource_type="consent",
            resource_id=str(consent_id),
        )
    await readable_child(
        session, actor=actor, child_id=consent.child_id, action=Action.read_child, purpose=purpose, today=today
    )
    if consent.withdrawn_at is not None:
        raise Conflict("the consent was already withdrawn")
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by = actor.id
    consent.withdrawal_reason = data.reason
    await session.flush()
    await enforce(
        session,
        actor,
        Decision(
            allowed=True, action=Action.manage_consents, reason="guardian consent withdrawn", purpose=base.purpose,
            basis="consent", consent_id=consent.id,
        ),
        resource_type="consent",
        resource_id=consent.id,
        child_id=consent.child_id,
    )
    recipients = await repository.recipients_of(session, [consent.id])
    return _read(consent, recipients[consent.id], today)
