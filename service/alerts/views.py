"""What each organisation sees of an alert (DESIGN §4 point 6), and auditing what was shown."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import Decision, audit_record
from service.access.principal import Principal
from service.access.relationships import ENROLMENT_ALERT_TYPES, AccessScope
from service.access.vocabulary import OrganisationKind
from service.alerts import repository
from service.alerts.details import AlertType
from service.alerts.models import Alert, AlertAction, AlertRecipient
from service.alerts.schemas import (
    ActionKind,
    ActionRead,
    AlertRead,
    FollowUp,
    LegalBasis,
    Outcome,
    RecipientRead,
    RecipientState,
    ReferralStatus,
    Severity,
)
from service.audit.service import record_many


def _follows_by_jurisdiction(alert: Alert, viewer: AccessScope) -> bool:
    """Child protection of the alert's municipality, and a municipality's coordinators on the
    enrolment kinds, follow the case as a whole (DESIGN §4 points 2 and 6)."""
    if alert.municipality_code not in viewer.municipality_codes:
        return False
    return viewer.follows_child_protection_history or (
        viewer.follows_enrolment_alerts and alert.type in ENROLMENT_ALERT_TYPES
    )


def sees_as_raiser(
    alert: Alert, recipients: list[AlertRecipient], viewer: AccessScope, *, lapsed: bool = False,
    team_case: bool = False,
) -> bool:
    """Whether the viewer sees the alert only as the organisation that raised it (a school, a
    provider, a police unit that is not a recipient): status, acknowledgements and outcome,
    never other agencies' actions or notes, nor which providers the case was referred to.

    Having raised an alert is no relationship with the case itself: a provider whose guardian's
    consent was withdrawn keeps seeing the alert it raised, but nothing that others did. So is
    one that was also referred the alert under a consent that no longer stands (`lapsed`): that
    receipt no longer makes it a recipient."""
    if not lapsed and any(r.organisation_id == viewer.organisation_id for r in recipients):
        return False
    if _follows_by_jurisdiction(alert, viewer) or team_case:
        return False
    return viewer.kind is OrganisationKind.school or alert.source_organisation_id == viewer.organisation_id


def _action_visible(action: AlertAction, viewer: AccessScope, raiser_view: bool) -> bool:
    """The raiser sees only its own unrestricted actions, and the school's answer to its
    `found_out_of_school` alert (without its text); restricted actions only the author and
    child protection."""
    if raiser_view:
        if action.kind == ActionKind.absence_answer.value:
            return not action.restricted
        return action.organisation_id == viewer.organisation_id and not action.restricted
    if action.restricted:
        return action.organisation_id == viewer.organisation_id or viewer.kind is OrganisationKind.child_protection
    return True


def _action_read(action: AlertAction, viewer: AccessScope, raiser_view: bool) -> ActionRead:
    read = ActionRead.model_validate(action, from_attributes=True)
    if raiser_view and action.organisation_id != viewer.organisation_id:
        return read.model_copy(update={"text": None})
    return read


def alert_read(
    alert: Alert,
    recipients: list[AlertRecipient],
    actions: list[AlertAction],
    viewer: AccessScope,
    *,
    lapsed: bool = False,
    team_case: bool = False,
) -> AlertRead:
    """The alert as the viewer may see it; `lapsed` when the viewer received it under a consent
    that no longer stands, `team_case` when the viewer works it as a member of its team."""
    raiser_view = sees_as_raiser(alert, recipients, viewer, lapsed=lapsed, team_case=team_case)
    referred = {a.recipient_id for a in actions if a.kind == ActionKind.referral.value} if raiser_view else set()
    return AlertRead(
        id=alert.id,
        child_id=alert.child_id,
        type=AlertType(alert.type),
        severity=Severity(alert.severity),
        status=alert.status,
        outcome=None if alert.outcome is None else Outcome(alert.outcome),
        outcome_reason=None if raiser_view else alert.outcome_reason,
        details=alert.details,
        note=alert.note if (not raiser_view or alert.source_organisation_id == viewer.organisation_id) else None,
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
                referral_reason=None if raiser_view else r.referral_reason,
            )
            for r in recipients
            if r.organisation_id not in referred
        ],
        actions=[
            _action_read(a, viewer, raiser_view)
            for a in actions
            if _action_visible(a, viewer, raiser_view)
        ],
        team_id=alert.team_id,
        assignee_id=next((r.assignee_id for r in recipients if r.organisation_id == viewer.organisation_id), None),
        unassigned_urgent=alert.status == "open" and alert.severity == Severity.urgent.value and any(
            r.organisation_id == viewer.organisation_id and r.assignee_id is None for r in recipients
        ),
        follow_up=None if alert.follow_up is None else FollowUp(alert.follow_up),
        follow_up_due_on=alert.follow_up_due_on,
        settlement_code=alert.settlement_code,
        version=alert.version,
        created_at=alert.created_at,
        updated_at=alert.updated_at,
        closed_at=alert.closed_at,
    )


async def alert_reads(session: AsyncSession, alerts: list[Alert], scope: AccessScope) -> list[AlertRead]:
    ids = [a.id for a in alerts]
    recipients, lapsed = await repository.recipients_and_lapsed(session, scope, ids)
    actions = await repository.actions_of(session, ids)
    teams = await repository.team_cases(session, scope, ids)
    return [
        alert_read(a, recipients[a.id], actions[a.id], scope, lapsed=a.id in lapsed, team_case=a.id in teams)
        for a in alerts
    ]


async def audit_reads(session: AsyncSession, actor: Principal, decision: Decision, alerts: list[Alert]) -> None:
    """One audit event per alert shown, so a child's access report lists every read."""
    await record_many(
        session,
        [
            audit_record(
                actor,
                Decision(
                    allowed=True, action=decision.action, reason=decision.reason, purpose=decision.purpose,
                    basis=alert.legal_basis, consent_id=alert.consent_id, break_glass=decision.break_glass,
                    break_glass_reason=decision.break_glass_reason,
                ),
                "alert",
                alert.id,
                alert.child_id,
            )
            for alert in alerts
        ],
    )
