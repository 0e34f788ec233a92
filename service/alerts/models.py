"""Alerts about a child, the organisations they are routed to, what those did, the routing
rules that decide where each type of alert goes, and the deadline and escalation rules that say
how long a recipient has to acknowledge and who is told when it does not."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, String, Text, text
from sqlmodel import Field, SQLModel

from service.core.clock import utcnow
from service.core.database import UtcDateTime


def _timestamp(nullable: bool = False) -> Any:
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_column=Column(UtcDateTime(), nullable=nullable),
    )


class Alert(SQLModel, table=True):
    __tablename__ = "alert"
    __table_args__ = (
        Index("ix_alert_child_id_created_at", "child_id", "created_at"),
        # at most one open alert per child and rule key (e.g. unexcused_absences:2026-10)
        Index(
            "uq_alert_open_child_id_dedup_key",
            "child_id",
            "dedup_key",
            unique=True,
            sqlite_where=text("status = 'open' AND dedup_key IS NOT NULL"),
            postgresql_where=text("status = 'open' AND dedup_key IS NOT NULL"),
        ),
        Index("ix_alert_source_organisation_id_id", "source_organisation_id", "id"),
        Index("ix_alert_municipality_code_type", "municipality_code", "type"),
        # the alert list pages newest first on (created_at, id)
        Index("ix_alert_created_at_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    child_id: uuid.UUID = Field(sa_column=Column(ForeignKey("child.id"), nullable=False))
    #: the child's municipality when the alert was raised; decides routing and jurisdiction
    municipality_code: str = Field(max_length=10)
    source_organisation_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organisation.id"), nullable=False))
    author_id: str = Field(max_length=200)
    type: str = Field(max_length=50)
    severity: str = Field(max_length=10)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    legal_basis: str = Field(max_length=30)
    consent_id: uuid.UUID | None = None
    status: str = Field(default="open", max_length=10)
    outcome: str | None = Field(default=None, max_length=30)
    outcome_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    version: int = 1
    #: set on alerts raised by absence rules: the type and month (or school year) they cover
    dedup_key: str | None = Field(default=None, max_length=60)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    closed_at: datetime | None = _timestamp(nullable=True)
    #: EKATTE code of the settlement the case is about, when known (lists of children to find)
    settlement_code: str | None = Field(default=None, max_length=10)
    #: the joint enrolment team the case is assigned to (its members see and act on it)
    team_id: uuid.UUID | None = Field(default=None, sa_column=Column(ForeignKey("team.id"), nullable=True, index=True))
    #: after `returned_to_school` or `enrolled_first_time`: `pending` until `follow_up_due_on`,
    #: `asked` of the school, then `retained` or `dropped_again`
    follow_up: str | None = Field(default=None, max_length=20)
    follow_up_due_on: date | None = Field(default=None, index=True)
    follow_up_decided_at: datetime | None = _timestamp(nullable=True)


class AlertRecipient(SQLModel, table=True):
    """One organisation an alert was routed to, with its own progress."""

    __tablename__ = "alert_recipient"
    __table_args__ = (
        Index("uq_alert_recipient_alert_id_organisation_id", "alert_id", "organisation_id", unique=True),
        Index("ix_alert_recipient_organisation_id_change_seq", "organisation_id", "change_seq"),
        # the inbox's overdue list, on every poll: only the few unacknowledged overdue rows
        Index(
            "ix_alert_recipient_overdue",
            "organisation_id",
            "due_at",
            sqlite_where=text("overdue_at IS NOT NULL AND acknowledged_at IS NULL"),
            postgresql_where=text("overdue_at IS NOT NULL AND acknowledged_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    alert_id: uuid.UUID = Field(sa_column=Column(ForeignKey("alert.id"), nullable=False))
    organisation_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organisation.id"), nullable=False))
    is_lead: bool = False
    state: str = Field(default="delivered", max_length=20)
    outcome: str | None = Field(default=None, max_length=30)
    delivered_at: datetime = _timestamp()
    acknowledged_at: datetime | None = _timestamp(nullable=True)
    done_at: datetime | None = _timestamp(nullable=True)
    #: when this recipient must have acknowledged (deadline rules); None: no deadline
    due_at: datetime | None = _timestamp(nullable=True)
    #: set by the worker when the deadline passed without an acknowledgement
    overdue_at: datetime | None = _timestamp(nullable=True)
    #: the guardian's consent this organisation received the case under (providers only)
    consent_id: uuid.UUID | None = Field(default=None, sa_column=Column(ForeignKey("consent.id"), nullable=True))
    #: a referred provider's answer: pending, accepted or declined (with a reason)
    referral_status: str | None = Field(default=None, max_length=10)
    referral_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: the recipient's own user it assigned its part of the alert to
    assignee_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("app_user.id"), nullable=True, index=True)
    )
    #: position in the change feed (service/alerts/feed.py)
    change_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class AlertAction(SQLModel, table=True):
    __tablename__ = "alert_action"
    __table_args__ = (Index("ix_alert_action_alert_id_created_at", "alert_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    alert_id: uuid.UUID = Field(sa_column=Column(ForeignKey("alert.id"), nullable=False))
    organisation_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organisation.id"), nullable=False))
    author_id: str = Field(max_length=200)
    kind: str = Field(max_length=30)
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    result: str | None = Field(default=None, max_length=30)
    recipient_id: uuid.UUID | None = None
    #: an `absence_answer`: whether the school excused the absence
    absence_excused: bool | None = None
    restricted: bool = False
    created_at: datetime = _timestamp()


class RoutingRule(SQLModel, table=True):
    """Where alerts of one type go: recipient kinds (the first is the lead) and legal basis."""

    __tablename__ = "routing_rule"

    alert_type: str = Field(sa_column=Column(String(50), primary_key=True))
    recipient_kinds: list[str] = Field(sa_column=Column(JSON, nullable=False))
    legal_basis: str = Field(max_length=30)
    #: a severity every alert of this type gets regardless of what was asked (abuse: urgent)
    forced_severity: str | None = Field(default=None, max_length=10)
    updated_at: datetime = _timestamp()


class FeedCounter(SQLModel, table=True):
    """The change feed's counter, in counter mode only (service/alerts/feed.py): row-locked and
    held to commit, so feed positions are handed out in commit order."""

    __tablename__ = "feed_counter"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class InboxNotice(SQLModel, table=True):
    """Something an organisation must be told that is not an alert routed to it: that someone
    used break-glass access to a child of its municipality (`break_glass`), or asked whether a
    child is known to the department (`known_to_cp_question`)."""

    __tablename__ = "inbox_notice"
    __table_args__ = (Index("ix_inbox_notice_organisation_id_change_seq", "organisation_id", "change_seq"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organisation.id"), nullable=False))
    kind: str = Field(max_length=30)
    child_id: uuid.UUID = Field(sa_column=Column(ForeignKey("child.id"), nullable=False))
    actor_organisation_id: uuid.UUID | None = None
    #: who asked, and the purpose of use they declared (known-to-cp questions)
    actor_id: str | None = Field(default=None, max_length=200)
    purpose: str | None = Field(default=None, max_length=30)
    #: the reason's entry in `audit_free_text` (gone once retention erased it)
    reason_sha256: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    created_at: datetime = _timestamp()
    change_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class DeadlineRule(SQLModel, table=True):
    """How long a recipient has to acknowledge an alert of a severity (None: no deadline)."""

    __tablename__ = "deadline_rule"

    severity: str = Field(primary_key=True, max_length=10)
    hours: int | None = None
    working_days: int | None = None


class EscalationRule(SQLModel, table=True):
    """Who is told when an alert of this severity in this municipality goes unacknowledged."""

    __tablename__ = "escalation_rule"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    severity: str = Field(max_length=10)
    municipality_code: str | None = Field(default=None, max_length=10, description="None: every municipality")
    organisation_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organisation.id"), nullable=False))
