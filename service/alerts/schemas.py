"""Request and response bodies of alerts, their lifecycle, the inbox and routing rules."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from service.access.vocabulary import OrganisationKind
from service.alerts.details import AlertType, FieldVisitResult
from service.core.schemas import RequestModel

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Severity(StrEnum):
    info = "info"
    concern = "concern"
    urgent = "urgent"


class LegalBasis(StrEnum):
    legal_obligation = "legal_obligation"
    public_task = "public_task"
    consent = "consent"


class Outcome(StrEnum):
    """What became of the child (DESIGN §3); the national mechanism counts children by these."""

    returned_to_school = "returned_to_school"
    enrolled_first_time = "enrolled_first_time"
    enrolled_elsewhere = "enrolled_elsewhere"
    moved_abroad = "moved_abroad"
    moved_within_country = "moved_within_country"
    referred_to_service = "referred_to_service"
    protective_measure = "protective_measure"
    not_found = "not_found"
    unfounded = "unfounded"
    other = "other"


#: outcomes followed up three months later: did the child stay in school?
FOLLOWED_UP_OUTCOMES = frozenset({Outcome.returned_to_school, Outcome.enrolled_first_time})


class FollowUp(StrEnum):
    pending = "pending"
    asked = "asked"
    retained = "retained"
    dropped_again = "dropped_again"


class ActionKind(StrEnum):
    contact_family = "contact_family"
    field_visit = "field_visit"
    meeting = "meeting"
    referral = "referral"
    note = "note"
    benefit_decision = "benefit_decision"
    #: the school's answer on a `found_out_of_school` alert: was the absence excused?
    absence_answer = "absence_answer"


class RecipientState(StrEnum):
    delivered = "delivered"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    done = "done"


class ReferralStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"


class _Strict(RequestModel):
    """A request body."""


class AlertCreate(_Strict):
    child_id: uuid.UUID
    type: AlertType
    severity: Severity = Severity.concern
    details: dict[str, Any] = Field(default_factory=dict, description="schema per type: schemas/alert-details/")
    note: Note | None = None
    legal_basis: LegalBasis | None = Field(default=None, description="default: the type's routing rule")
    consent_id: uuid.UUID | None = None


class ActionCreate(_Strict):
    kind: ActionKind
    text: Note | None = None
    result: FieldVisitResult | None = Field(default=None, description="field visits only")
    recipient_id: uuid.UUID | None = Field(
        default=None, description="referrals only: a service provider (under consent) or a juvenile commission"
    )
    absence_excused: bool | None = Field(
        default=None, description="absence_answer only: whether the school excused the absence"
    )
    restricted: bool = False

    @model_validator(mode="after")
    def _result_only_for_visits(self) -> ActionCreate:
        if (self.kind is ActionKind.absence_answer) != (self.absence_excused is not None):
            raise ValueError("an absence_answer says absence_excused (true or false), and only it does")
        if self.kind is ActionKind.field_visit and self.result is None:
            raise ValueError("a field visit needs a result")
        if self.kind is not ActionKind.field_visit and self.result is not None:
            raise ValueError("only a field visit has a result")
        if self.kind is ActionKind.referral and self.recipient_id is None:
            raise ValueError("a referral names its recipient_id")
        return self


MunicipalityCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}[0-9]{2}$")]


class AlertClose(_Strict):
    outcome: Outcome
    reason: Note | None = None
    destination_municipality_code: MunicipalityCode | None = Field(
        default=None, description="moved_within_country only: where the family moved (EKATTE municipality code)"
    )

    @model_validator(mode="after")
    def _other_needs_reason(self) -> AlertClose:
        if self.outcome is Outcome.other and not self.reason:
            raise ValueError("outcome 'other' needs a reason")
        if (self.outcome is Outcome.moved_within_country) != (self.destination_municipality_code is not None):
            raise ValueError("destination_municipality_code goes with outcome moved_within_country, and only with it")
        return self


class AlertAssign(_Strict):
    """Exactly one of the two: a recipient's own user, or a joint enrolment team."""

    assignee_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one_of(self) -> AlertAssign:
        if (self.assignee_id is None) == (self.team_id is None):
            raise ValueError("give exactly one of assignee_id and team_id")
        return self


class FollowUpAnswer(_Strict):
    """The school's answer three months after the child returned or was enrolled."""

    result: Annotated[str, StringConstraints(pattern="^(retained|dropped_again)$")]


class ReferralAnswer(_Strict):
    accepted: bool
    reason: Note | None = None

    @model_validator(mode="after")
    def _decline_needs_reason(self) -> ReferralAnswer:
        if not self.accepted and not self.reason:
            raise ValueError("a declined referral needs a reason")
        return self


class RecipientRead(BaseModel):
    organisation_id: uuid.UUID
    state: RecipientState
    lead: bool
    delivered_at: datetime
    acknowledged_at: datetime | None
    done_at: datetime | None
    due_at: datetime | None = Field(default=None, description="acknowledge by then")
    overdue: bool = False
    outcome: Outcome | None
    referral_status: ReferralStatus | None = Field(default=None, description="for referred providers")
    referral_reason: str | None = None


class ActionRead(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    kind: ActionKind
    text: str | None
    result: FieldVisitResult | None
    recipient_id: uuid.UUID | None
    absence_excused: bool | None = None
    restricted: bool
    created_at: datetime


class AlertRead(BaseModel):
    id: uuid.UUID
    child_id: uuid.UUID
    type: AlertType
    severity: Severity
    status: str
    outcome: Outcome | None
    outcome_reason: str | None
    details: dict[str, Any]
    note: str | None
    legal_basis: LegalBasis
    consent_id: uuid.UUID | None
    source_organisation_id: uuid.UUID
    municipality_code: str
    recipients: list[RecipientRead]
    actions: list[ActionRead]
    team_id: uuid.UUID | None = Field(default=None, description="the joint enrolment team working the case")
    assignee_id: uuid.UUID | None = Field(default=None, description="your organisation's user assigned its part")
    unassigned_urgent: bool = Field(
        default=False,
        description="an open urgent alert routed to your organisation whose part nobody has been assigned yet",
    )
    follow_up: FollowUp | None = Field(
        default=None,
        description="three months after returned_to_school or enrolled_first_time: retained or dropped_again",
    )
    follow_up_due_on: date | None = None
    settlement_code: str | None = Field(default=None, description="EKATTE settlement, when known")
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class AlertPage(BaseModel):
    items: list[AlertRead]
    next: str | None


class InboxNoticeRead(BaseModel):
    kind: str = Field(
        description="break_glass: someone used emergency access to a child of your municipality; "
        "known_to_cp_question: someone asked whether a child is known to your department"
    )
    child_id: uuid.UUID
    actor_organisation_id: uuid.UUID | None
    actor_id: str | None = Field(default=None, description="who asked (known_to_cp_question)")
    purpose: str | None = Field(default=None, description="the purpose of use they declared (known_to_cp_question)")
    reason: str | None = Field(default=None, description="the reason given; null when none or once retention erased it")
    created_at: datetime


class InboxItem(BaseModel):
    kind: str = Field(description="alert or notice")
    alert: AlertRead | None = None
    notice: InboxNoticeRead | None = None
    change: int = Field(description="feed position of the latest change")


class InboxPage(BaseModel):
    overdue: list[AlertRead] = Field(
        default_factory=list,
        description="alerts routed to you that passed their acknowledgement deadline; shown first, on every poll",
    )
    items: list[InboxItem]
    next: str = Field(description="poll again with ?after=<next>; present even when nothing is new")


class HistoryEntry(BaseModel):
    at: datetime
    event: str = Field(
        description="alert_raised, acknowledged, action, referral_answered, recipient_done, alert_closed"
    )
    alert_id: uuid.UUID
    alert_type: AlertType
    organisation_id: uuid.UUID
    severity: Severity | None = None
    action: ActionRead | None = None
    outcome: Outcome | None = None
    referral_status: ReferralStatus | None = None


class ChildHistory(BaseModel):
    child_id: uuid.UUID
    break_glass: bool = Field(default=False, description="read through emergency access (audited, reviewed)")
    entries: list[HistoryEntry]


class RoutingRuleBody(_Strict):
    alert_type: AlertType
    recipient_kinds: list[OrganisationKind] = Field(min_length=1, max_length=6)
    legal_basis: LegalBasis
    forced_severity: Severity | None = None


class RoutingRules(BaseModel):
    items: list[RoutingRuleBody]


class KnownToCpQuestion(_Strict):
    pin: Annotated[str, StringConstraints(min_length=1, max_length=20)] = Field(
        description="ЕГН or ЛНЧ of the child; never in a URL"
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None = Field(
        default=None, description="why you ask; shown to the department with who asked and when"
    )


class KnownToCpDepartment(BaseModel):
    name: str
    phone: str | None
    email: str | None


class KnownToCp(BaseModel):
    known: bool = Field(
        description="an alert about the child routed to child protection is open, or was closed in the last 12 months"
    )
    department: KnownToCpDepartment | None = Field(description="whom to call; null when not known")
