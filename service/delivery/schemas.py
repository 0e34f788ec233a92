"""Bodies of the webhooks API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from service.core.schemas import RequestModel
from service.delivery.events import EventType


class WebhookCreate(RequestModel):
    organisation_id: uuid.UUID
    url: str = Field(min_length=9, max_length=2000, description="https:// endpoint of the organisation's system")
    events: list[EventType] = Field(min_length=1, max_length=5)


class WebhookRead(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    url: str
    events: list[EventType]
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Standard Webhooks signing secret (whsec_…); shown once")


class WebhookList(BaseModel):
    items: list[WebhookRead]
    next: str | None


class AttemptRead(BaseModel):
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    delivery_status: str
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class AttemptPage(BaseModel):
    items: list[AttemptRead]
    next: str | None


class DeadMailRead(BaseModel):
    """An e-mail notice the worker gave up on: which event, to whom (the user's id, never the
    address or anything of the child), how often it was tried and the mail server's last answer."""

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    user_id: uuid.UUID
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime


class DeadMailPage(BaseModel):
    items: list[DeadMailRead]
    next: str | None
