"""The append-only audit trail and the head of its hash chain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from service.core.database import UtcDateTime

GENESIS_HASH = "0" * 64


class AuditEvent(SQLModel, table=True):
    """One decision or change. Never updated or deleted: database triggers refuse it."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_child_id_seq", "child_id", "seq"),
        Index("ix_audit_event_actor_id_seq", "actor_id", "seq"),
        Index("ix_audit_event_occurred_at", "occurred_at"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    occurred_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    actor_id: str = Field(max_length=200)
    actor_kind: str = Field(max_length=20)
    actor_organisation_id: uuid.UUID | None = None
    actor_roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    action: str = Field(max_length=100)
    resource_type: str | None = Field(default=None, max_length=50)
    resource_id: str | None = Field(default=None, max_length=100)
    child_id: uuid.UUID | None = None
    purpose: str | None = Field(default=None, max_length=50)
    basis: str | None = Field(default=None, max_length=50)
    consent_id: uuid.UUID | None = None
    decision: str = Field(max_length=10)
    reason: str = Field(max_length=500)
    break_glass: bool = False
    #: legacy: the reason's text, written only by events recorded before migration 0010 (their
    #: hashes cover it, so it stays); newer events hold `break_glass_reason_sha256` instead
    break_glass_reason: str | None = Field(default=None, max_length=1000)
    #: SHA-256 of the reason kept in `audit_free_text` (see `service.audit.free_text`)
    break_glass_reason_sha256: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    request_id: str | None = Field(default=None, max_length=100)
    client_address: str | None = Field(default=None, max_length=100)
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))


class AuditPending(SQLModel, table=True):
    """An event recorded with its change, in the change's transaction, waiting to be linked.

    Requests only insert here (no shared row is touched, so none waits for another); the
    sequencer (`service.audit.sequencer`) moves events into `audit_event` in the order of
    (`txid`, `id`), assigning `seq`, `prev_hash` and `hash`, and deletes them here in the same
    transaction, so an event is either pending or linked, never lost and never linked twice.
    The columns are the hashed fields of an event less `seq` (see `chain.PENDING_FIELDS`).
    """

    __tablename__ = "audit_pending"
    __table_args__ = (Index("ix_audit_pending_txid_id", "txid", "id"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    #: the inserting transaction's id (PostgreSQL `pg_current_xact_id()`; 0 on SQLite), which
    #: orders linking: every transaction below the oldest one still running has ended
    txid: int = Field(sa_column=Column(BigInteger, nullable=False))
    occurred_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    actor_id: str = Field(max_length=200)
    actor_kind: str = Field(max_length=20)
    actor_organisation_id: uuid.UUID | None = None
    actor_roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    action: str = Field(max_length=100)
    resource_type: str | None = Field(default=None, max_length=50)
    resource_id: str | None = Field(default=None, max_length=100)
    child_id: uuid.UUID | None = None
    purpose: str | None = Field(default=None, max_length=50)
    basis: str | None = Field(default=None, max_length=50)
    consent_id: uuid.UUID | None = None
    decision: str = Field(max_length=10)
    reason: str = Field(max_length=500)
    break_glass: bool = False
    break_glass_reason: str | None = Field(default=None, max_length=1000)
    break_glass_reason_sha256: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    request_id: str | None = Field(default=None, max_length=100)
    client_address: str | None = Field(default=None, max_length=100)


class AuditHead(SQLModel, table=True):
    """A single row holding the chain's last `seq` and `hash`.

    Only the linker moves it (the sequencer, one at a time across processes under an advisory
    lock; or, on SQLite, the request itself, which holds the database's single write lock anyway).
    """

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    hash: str = Field(default=GENESIS_HASH, sa_column=Column(String(64), nullable=False))


class BreakGlassReview(SQLModel, table=True):
    """An emergency access waiting for (or given) an auditor's review."""

    __tablename__ = "break_glass_review"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: the access's event in the chain; set by the sequencer when it links the event
    audit_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, unique=True))
    #: the access's event while it waits to be linked (`audit_pending.id`)
    audit_pending_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, unique=True))
    actor_id: str = Field(max_length=200)
    actor_organisation_id: uuid.UUID | None = None
    child_id: uuid.UUID = Field(index=True)
    #: the reason's entry in `audit_free_text` (gone once retention erased it)
    reason_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    accessed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    reviewed_by: str | None = Field(default=None, max_length=200)
    review_outcome: str | None = Field(default=None, max_length=20)
    review_comment: str | None = Field(default=None, max_length=2000)


class AuditFreeText(SQLModel, table=True):
    """Free text that audit events refer to (a break-glass reason, which officers fill with names
    and PINs). The chain holds only `sha256`; retention deletes the row, and the chain still
    verifies. `sha256` is over a random salt and the text, so once the row is gone the text
    cannot be guessed back from the hash."""

    __tablename__ = "audit_free_text"

    sha256: str = Field(sa_column=Column(String(64), primary_key=True))
    salt: str = Field(sa_column=Column(String(32), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))


class AuditCheckpoint(SQLModel, table=True):
    """The chain head (seq, hash, time) signed with the service's key. Copies kept outside the
    database let `audit verify --checkpoint` detect truncation and wholesale rewrites."""

    __tablename__ = "audit_checkpoint"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    signed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    kid: str = Field(max_length=100)
    signature: str = Field(sa_column=Column(Text, nullable=False))
