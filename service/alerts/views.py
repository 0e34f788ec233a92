"""What each organisation sees of an alert (DESIGN §4 point 6), and auditing what was shown."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import Decision, audit_record
from service.access.principal import Principal
from service.access.relationships import AccessScope
from service.access.vocabulary import OrganisationKind
from service.alerts import repository
from service.alerts.details import AlertType
from service.alerts.models import Alert, AlertAction, AlertRecipient
from service.alerts.schemas import (
    ActionRead,
    AlertRead,
    LegalBasis,
    Outcome,
    RecipientRead,
    RecipientState,
    ReferralStatus,
    Severity,
)
from service.audit.service import record_many


def _action_visible(action: AlertAction, viewer: AccessScope, viewer_is_recipient: bool) -> bool:
    """Schools see no other agency's actions; restricted actions only the author and child
    protection."""
    if viewer.kind is OrganisationKind.school and not viewer_is_recipient:
        return action.organisation_id == viewer.organisation_id and not action.restricted
    if action.restricted:
        return action.organisation_id == viewer.organisation_id or viewer.kind is OrganisationKind.child_protection
    return True


def alert_read(
    alert: Alert, recipients: list[AlertRecipient], actions: list[AlertAction], viewer: AccessScope
) -> AlertRead:
    is_recipient = any(r.organisation_id == viewer.organisation_id for r in recipients)
    school_view = viewer.kind is OrganisationKind.school and not is_recipient
    return AlertRead(
        id=alert.id,
        child_id=alert.child_id,
        type=AlertType(alert.type),
        severity=Severity(alert.severity),
        status=alert.status,
        outcome=None if alert.outcome is None else Outcome(alert.outcome),
        outcome_reason=None if school_view else alert.outcome_reason,
        details=alert.details,
        note=alert.note if (not school_view or alert.source_organisation_id == viewer.organisation_id) else None,
        legal_basis=LegalBasis(alert.legal_basis),
        consent_id=alert.consent_id,
        source_organisation_id=alert.source_organisation_id,
        municipality_code=alert.municipality_code,
        recipients=[
            RecipientRead(
                organisation_id=r.organisation_id,
                state=RecipientState(r.state),
                lead=r.is_lead,
                delivered_at=r.delivered_at,
                acknowledged_at=r.acknowledged_at,
                done_at=r.done_at,
                due_at=r.due_at,
                overdue=r.overdue_at is not None and r.acknowledged_at is None,
                outcome=None if r.outcome is None else Outcome(r.outcome),
                referral_status=None if r.referral_status is None else ReferralStatus(r.referral_status),
                referral_reason=None if school_view else r.referral_reason,
            )
            for r in recipients
        ],
        actions=[
            ActionRead.model_validate(a, from_attributes=True)
            for a in actions
            if _action_visible(a, viewer, is_recipient)
        ],
        version=alert.version,
        created_at=alert.created_at,
        updated_at=alert.updated_at,
        closed_at=alert.closed_at,
    )


async def alert_reads(session: AsyncSession, alerts: list[Alert], scope: AccessScope) -> list[AlertRead]:
    ids = [a.id for a in alerts]
    recipients = await repository.recipients_of(session, ids)
    actions = await repository.actions_of(session, ids)
    return [alert_read(a, recipients[a.id], actions[a.id], scope) for a in alerts]


async def audit_reads(session: AsyncSession, actor: Principal, decision: Decision, alerts: list[Alert]) -> None:
    """One audit event per alert shown, so a child's access report lists every read."""
    await record_many(
        session,
        [
            audit_record(
                actor,
                Decision(
                    True,
                    decision.action,
                    decision.reason,
                    decision.purpose,
                    alert.legal_basis,
                    alert.consent_id,
                    decision.break_glass,
                    decision.break_glass_reason,
                ),
                "alert",
                alert.id,
                alert.child_id,
            )
            for alert in alerts
        ],
    )
