"""Every table of the service, imported in one place so the metadata is complete for alembic."""

from service.absences.models import AbsenceBatch, AbsenceReport, AbsenceRule
from service.alerts.models import (
    Alert,
    AlertAction,
    AlertRecipient,
    DeadlineRule,
    EscalationRule,
    FeedCounter,
    InboxNotice,
    RoutingRule,
)
from service.audit.models import (
    AuditCheckpoint,
    AuditEvent,
    AuditFreeText,
    AuditHead,
    AuditPending,
    BreakGlassReview,
)
from service.auth.throttle import LoginThrottle
from service.children.models import Child, Enrolment
from service.consent.models import Consent, ConsentRecipient
from service.core.database import metadata
from service.delivery.models import (
    DeliveryAttempt,
    OutboxDelivery,
    OutboxMail,
    Webhook,
)
from service.idempotency.models import IdempotencyRecord
from service.notices.models import NoticePreference
from service.organisations.models import Client, Organisation, OrganisationMunicipality, User
from service.teams.models import Team, TeamMember
from service.web.models import OidcSignIn, WebSession

__all__ = [
    "AbsenceBatch", "AbsenceReport", "AbsenceRule",
    "Alert", "AlertAction", "AlertRecipient", "AuditCheckpoint", "AuditEvent", "AuditFreeText", "AuditHead",
    "AuditPending",
    "BreakGlassReview",
    "Child", "Client", "Consent", "ConsentRecipient", "DeadlineRule", "DeliveryAttempt",
    "NoticePreference", "OutboxMail",
    "EscalationRule", "InboxNotice", "OidcSignIn", "OutboxDelivery", "Webhook",
    "Enrolment", "FeedCounter", "LoginThrottle", "IdempotencyRecord", "Organisation", "OrganisationMunicipality",
    "RoutingRule", "Team", "TeamMember", "User", "WebSession", "metadata",
]
