"""Webhook endpoints, the transactional outbox of deliveries to them and of e-mail notices, and
the attempt log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Text
from sqlmodel import Field, SQLModel

from service.core.clock import utcnow
from service.core.database import UtcDateTime


class Webhook(SQLModel, table=True):
    __tablename__ = "webhook"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=Column(ForeignKey("organisation.id"), nullable=False, index=True))
    url: str = Field(max_length=2000)
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    #: the Standard Webhooks signing secret (whsec_…), encrypted (service/delivery/secrets.py);
    #: shown once, kept to sign deliveries
    secret: str = Field(max_length=300)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class OutboxDelivery(SQLModel, table=True):
    """One event to deliver to one webhook, written in the transaction of the change it reports.

    `seq` (the change's feed position, kept increasing per webhook and key by `events.queue`)
    orders deliveries: the worker never sends a delivery while an earlier one for the same
    webhook and alert is still pending or in flight, so each receiver sees an alert's events in
    order."""

    __tablename__ = "outbox_delivery"
    __table_args__ = (
        Index("ix_outbox_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_delivery_webhook_id_ordering_key_seq", "webhook_id", "ordering_key", "seq"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_id: uuid.UUID = Field(index=True)
    event_type: str = Field(max_length=40)
    webhook_id: uuid.UUID = Field(sa_column=Column(ForeignKey("webhook.id"), nullable=False))
    #: deliveries with the same key (the alert, or the child for access notices) go out in order
    ordering_key: str = Field(max_length=80)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempt"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    delivery_id: uuid.UUID = Field(sa_column=Column(ForeignKey("outbox_delivery.id"), nullable=False, index=True))
    webhook_id: uuid.UUID = Field(sa_column=Column(ForeignKey("webhook.id"), nullable=False, index=True))
    attempted_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    status_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    duration_ms: int = 0


class OutboxMail(SQLModel, table=True):
    """One e-mail notice to one person, written in the transaction of the change it reports and
    sent by the worker. At most one per event and person (unique), so a retried or replayed
    change never mails anyone twice. The row holds ids, type and severity only: the text is
    rendered at sending, in the person's language, with a link into the console."""

    __tablename__ = "outbox_mail"
    __table_args__ = (
        Index("uq_outbox_mail_event_id_user_id", "event_id", "user_id", unique=True),
        Index("ix_outbox_mail_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    event_id: uuid.UUID
    #: a NoticeEvent value (service/notices/events.py)
    event_type: str = Field(max_length=40)
    user_id: uuid.UUID = Field(sa_column=Column(ForeignKey("app_user.id"), nullable=False, index=True))
    address: str = Field(max_length=254)
    language: str = Field(default="bg", max_length=2)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    #: sent in the person's daily digest (not before `next_attempt_at`, the digest hour)
    digest: bool = False
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
