"""Auditor-facing views of the audit trail and the break-glass review queue."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from service.core.schemas import RequestModel


class AuditEventRead(BaseModel):
    seq: int
    occurred_at: datetime
    actor_id: str
    actor_kind: str
    actor_organisation_id: uuid.UUID | None
    actor_roles: list[str]
    action: str
    resource_type: str | None
    resource_id: str | None
    child_id: uuid.UUID | None
    purpose: str | None
    basis: str | None
    consent_id: uuid.UUID | None
    decision: str
    reason: str
    break_glass: bool
    break_glass_reason_sha256: str | None = Field(
        description="SHA-256 of the break-glass reason; the text itself is shown only in the review queue"
    )
    request_id: str | None
    client_address: str | None
    prev_hash: str
    hash: str


class AuditEventPage(BaseModel):
    items: list[AuditEventRead]
    next: str | None


class ReviewOutcome(StrEnum):
    justified = "justified"
    unjustified = "unjustified"
    needs_follow_up = "needs_follow_up"


class BreakGlassRead(BaseModel):
    id: uuid.UUID
    audit_seq: int | None = Field(description="the access's event in the chain (null until the sequencer links it)")
    actor_id: str
    actor_organisation_id: uuid.UUID | None
    child_id: uuid.UUID
    reason: str | None = Field(default=None, description="the officer's reason; null once retention erased it")
    reason_sha256: str = Field(description="the reason's SHA-256, as the audit event holds it")
    accessed_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_outcome: ReviewOutcome | None
    review_comment: str | None


class BreakGlassPage(BaseModel):
    items: list[BreakGlassRead]
    next: str | None


class BreakGlassReviewBody(RequestModel):
    outcome: ReviewOutcome
    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ChainHead(BaseModel):
    seq: int
    hash: str


class VerifyResult(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None
    head: ChainHead
    unlinked: int = Field(description="events recorded and not yet linked into the chain by the sequencer")
    oldest_unlinked_seconds: float | None = Field(description="age of the oldest event not yet linked")


class CheckpointRead(BaseModel):
    seq: int
    hash: str
    signed_at: datetime
    kid: str
    signature: str = Field(description="compact JWS (RS256) over {seq, hash, signed_at}; verify with the JWKS")


class CheckpointList(BaseModel):
    items: list[CheckpointRead]
    next: str | None


class AccessEntry(BaseModel):
    at: datetime
    organisation_id: uuid.UUID | None
    organisation_code: str | None
    organisation_name: str | None
    roles: list[str]
    action: str
    purpose: str | None
    basis: str | None
    break_glass: bool
    actor_id: str | None = Field(default=None, description="the person or system; omitted in the guardian version")
    decision: str | None = Field(default=None, description="omitted in the guardian version (accesses only)")
    reason: str | None = None


class AccessReport(BaseModel):
    child_id: uuid.UUID
    version: str = Field(description="staff (full) or guardian (subject access: no staff identities)")
    entries: list[AccessEntry]
