"""Every query of data retention: finding what has been kept long enough, and anonymising,
clearing or purging it.

Each change re-checks its rule in the statement itself (and answers what it changed), so a record
that became active again between finding and changing it is left alone and not audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import and_, delete, exists, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from service.alerts.models import Alert, AlertAction, AlertRecipient
from service.audit.models import AuditFreeText
from service.children.models import Child, Enrolment
from service.consent.models import Consent
from service.delivery.models import DeliveryAttempt, OutboxDelivery
from service.idempotency.models import IdempotencyRecord

_UNSYNCED = {"synchronize_session": False}

# -- children ---------------------------------------------------------------------------------


def _inactive_child(inactive_before: datetime, ended_before: date) -> ColumnElement[bool]:
    """Not yet anonymised, and its last activity — the latest of its creation, its alerts'
    `updated_at` and its enrolments' end dates — is before the cutoff; no alert is open and no
    enrolment is current (an open-ended enrolment never ended)."""
    return and_(
        col(Child.anonymised_at).is_(None),
        col(Child.created_at) < inactive_before,
        ~exists().where(
            col(Alert.child_id) == col(Child.id),
            or_(col(Alert.status) == "open", col(Alert.updated_at) >= inactive_before),
        ),
        ~exists().where(
            col(Enrolment.child_id) == col(Child.id),
            or_(col(Enrolment.end_date).is_(None), col(Enrolment.end_date) >= ended_before),
        ),
    )


async def inactive_children(session: AsyncSession, *, inactive_before: datetime, ended_before: date) -> list[uuid.UUID]:
    rows = await session.execute(
        select(col(Child.id)).where(_inactive_child(inactive_before, ended_before)).order_by(col(Child.id))
    )
    return list(rows.scalars())


async def anonymise_children(
    session: AsyncSession, ids: Sequence[uuid.UUID], *, inactive_before: datetime, ended_before: date, at: datetime
) -> list[uuid.UUID]:
    """Remove the PIN hash, names, date (or year) of birth and address of these children (still inactive)."""
    rows = await session.execute(
        update(Child)
        .where(col(Child.id).in_(ids), _inactive_child(inactive_before, ended_before))
        .values(
            pin_hash=None, given_name=None, family_name=None, date_of_birth=None, birth_year=None, address=None,
            anonymised_at=at,
        )
        .returning(col(Child.id))
        .execution_options(**_UNSYNCED)
    )
    return list(rows.scalars())


# -- texts of closed alerts -------------------------------------------------------------------


def _closed_with_texts(closed_before: datetime) -> ColumnElement[bool]:
    return and_(
        col(Alert.status) == "closed",
        col(Alert.closed_at) < closed_before,
        or_(
            col(Alert.note).is_not(None),
            col(Alert.outcome_reason).is_not(None),
            exists().where(col(AlertAction.alert_id) == col(Alert.id), col(AlertAction.text).is_not(None)),
            exists().where(
                col(AlertRecipient.alert_id) == col(Alert.id),
                col(AlertRecipient.referral_reason).is_not(None),
            ),
        ),
    )


async def closed_alerts_with_texts(
    session: AsyncSession, *, closed_before: datetime
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(alert id, child id) of closed alerts that still hold free text: the alert's note and
    outcome reason, its actions' texts, a provider's reason for declining a referral."""
    rows = await session.execute(
        select(col(Alert.id), col(Alert.child_id)).where(_closed_with_texts(closed_before)).order_by(col(Alert.id))
    )
    return [(alert_id, child_id) for alert_id, child_id in rows]


async def clear_alert_texts(
    session: AsyncSession, ids: Sequence[uuid.UUID], *, closed_before: datetime
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Clear those texts. `updated_at` is left alone: it is the case's last activity, which the
    child's own retention period counts from. The version moves, so an `ETag` changes."""
    changed = [
        (alert_id, child_id)
        for alert_id, child_id in await session.execute(
            update(Alert)
            .where(col(Alert.id).in_(ids), _closed_with_texts(closed_before))
            .values(note=None, outcome_reason=None, version=col(Alert.version) + 1)
            .returning(col(Alert.id), col(Alert.child_id))
            .execution_options(**_UNSYNCED)
        )
    ]
    cleared = [alert_id for alert_id, _ in changed]
    if cleared:
        await session.execute(
            update(AlertAction)
            .where(col(AlertAction.alert_id).in_(cleared), col(AlertAction.text).is_not(None))
            .values(text=None)
            .execution_options(**_UNSYNCED)
        )
        await session.execute(
            update(AlertRecipient)
            .where(col(AlertRecipient.alert_id).in_(cleared), col(AlertRecipient.referral_reason).is_not(None))
            .values(referral_reason=None)
            .execution_options(**_UNSYNCED)
        )
    return changed


# -- guardians' names on ended consents -------------------------------------------------------


def _ended_consent(ended_before: date, withdrawn_before: datetime) -> ColumnElement[bool]:
    return and_(
        col(Consent.guardian_name).is_not(None),
        or_(col(Consent.valid_until) < ended_before, col(Consent.withdrawn_at) < withdrawn_before),
    )


async def ended_consents_with_names(
    session: AsyncSession, *, ended_before: date, withdrawn_before: datetime
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(consent id, child id) of consents that expired or were withdrawn before the cutoff and
    still name the guardian."""
    rows = await session.execute(
        select(col(Consent.id), col(Consent.child_id))
        .where(_ended_consent(ended_before, withdrawn_before))
        .order_by(col(Consent.id))
    )
    return [(consent_id, child_id) for consent_id, child_id in rows]


async def remove_guardian_names(
    session: AsyncSession, ids: Sequence[uuid.UUID], *, ended_before: date, withdrawn_before: datetime
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    rows = await session.execute(
        update(Consent)
        .where(col(Consent.id).in_(ids), _ended_consent(ended_before, withdrawn_before))
        .values(guardian_name=None)
        .returning(col(Consent.id), col(Consent.child_id))
        .execution_options(**_UNSYNCED)
    )
    return [(consent_id, child_id) for consent_id, child_id in rows]


# -- stored first answers of idempotent requests ----------------------------------------------


async def old_idempotency_keys(session: AsyncSession, *, created_before: datetime) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(col(IdempotencyRecord.principal_id), col(IdempotencyRecord.key))
        .where(col(IdempotencyRecord.created_at) < created_before)
        .order_by(col(IdempotencyRecord.principal_id), col(IdempotencyRecord.key))
    )
    return [(principal_id, key) for principal_id, key in rows]


async def purge_idempotency_records(
    session: AsyncSession, keys: Sequence[tuple[str, str]], *, created_before: datetime
) -> list[tuple[str, str]]:
    rows = await session.execute(
        delete(IdempotencyRecord)
        .where(
            tuple_(col(IdempotencyRecord.principal_id), col(IdempotencyRecord.key)).in_(keys),
            col(IdempotencyRecord.created_at) < created_before,
        )
        .returning(col(IdempotencyRecord.principal_id), col(IdempotencyRecord.key))
        .execution_options(**_UNSYNCED)
    )
    return [(principal_id, key) for principal_id, key in rows]


# -- delivered webhook events -----------------------------------------------------------------


def _delivered_before(delivered_before: datetime) -> ColumnElement[bool]:
    return and_(
        col(OutboxDelivery.status) == "delivered",
        col(OutboxDelivery.delivered_at) < delivered_before,
    )


async def delivered_outbox_rows(session: AsyncSession, *, delivered_before: datetime) -> list[uuid.UUID]:
    rows = await session.execute(
        select(col(OutboxDelivery.id)).where(_delivered_before(delivered_before)).order_by(col(OutboxDelivery.id))
    )
    return list(rows.scalars())


async def purge_outbox_rows(
    session: AsyncSession, ids: Sequence[uuid.UUID], *, delivered_before: datetime
) -> list[uuid.UUID]:
    """Delete delivered outbox rows and their attempt logs."""
    doomed = select(col(OutboxDelivery.id)).where(
        col(OutboxDelivery.id).in_(ids), _delivered_before(delivered_before)
    )
    await session.execute(
        delete(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(doomed)).execution_options(**_UNSYNCED)
    )
    rows = await session.execute(
        delete(OutboxDelivery)
        .where(col(OutboxDelivery.id).in_(ids), _delivered_before(delivered_before))
        .returning(col(OutboxDelivery.id))
        .execution_options(**_UNSYNCED)
    )
    return list(rows.scalars())


# -- free text of the audit trail ---------------------------------------------------------------


async def old_free_texts(session: AsyncSession, *, created_before: datetime) -> list[str]:
    rows = await session.execute(
        select(col(AuditFreeText.sha256))
        .where(col(AuditFreeText.created_at) < created_before)
        .order_by(col(AuditFreeText.sha256))
    )
    return list(rows.scalars())


async def erase_free_texts(session: AsyncSession, sha256s: Sequence[str], *, created_before: datetime) -> list[str]:
    """Delete these entries (text and salt): the audit events keep only a hash nobody can invert."""
    rows = await session.execute(
        delete(AuditFreeText)
        .where(col(AuditFreeText.sha256).in_(sha256s), col(AuditFreeText.created_at) < created_before)
        .returning(col(AuditFreeText.sha256))
        .execution_options(**_UNSYNCED)
    )
    return list(rows.scalars())
