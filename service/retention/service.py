"""Data retention: what `obhvat retention run` anonymises, clears and purges, and when.

Rules (periods from settings, `OBHVAT_RETENTION_*`):
- a child with no open alert and no current enrolment whose last activity (the latest of its
  alerts' `updated_at`, its enrolments' end dates and its own creation) is over N years old is
  anonymised: PIN hash, names and date of birth removed, the id kept;
- a closed alert's note, outcome reason, action texts and referral answers are cleared M years
  after closure;
- a consent that expired or was withdrawn over K years ago is kept without the guardian's name;
- stored first answers of idempotent requests, and delivered webhook events with their attempt
  logs, are purged after D days;
- the free text that audit events refer to (break-glass reasons, in `audit_free_text`) is erased
  F days after it was written; the events keep its SHA-256 and the chain still verifies.

`plan` finds what is due and changes nothing; `apply` changes it and writes one audit event per
record changed (resource type and id, never a name), in the caller's transaction. A rule is one
entry of `RULES`: a finder and a changer from the repository.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.principal import Principal
from service.audit.service import AuditRecord, record_many
from service.core.clock import LOCAL_ZONE
from service.core.settings import Settings
from service.retention import repository

BATCH = 500


@dataclass(frozen=True, slots=True)
class Periods:
    child_years: int = 5
    notes_years: int = 5
    consent_years: int = 3
    keys_days: int = 30
    free_text_days: int = 365

    @classmethod
    def from_settings(cls, settings: Settings) -> Periods:
        return cls(
            child_years=settings.retention_child_years, notes_years=settings.retention_notes_years,
            consent_years=settings.retention_consent_years, keys_days=settings.retention_keys_days,
            free_text_days=settings.retention_free_text_days,
        )


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL_ZONE).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """The moments before which each rule applies, for a run at `now`. Year periods count whole
    local days (a child inactive since before this day N years ago)."""

    now: datetime
    periods: Periods
    child_day: date = field(init=False)
    notes_day: date = field(init=False)
    consent_day: date = field(init=False)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("retention needs an aware `now`")
        today = self.now.astimezone(LOCAL_ZONE).date()
        object.__setattr__(self, "child_day", _years_before(today, self.periods.child_years))
        object.__setattr__(self, "notes_day", _years_before(today, self.periods.notes_years))
        object.__setattr__(self, "consent_day", _years_before(today, self.periods.consent_years))

    @property
    def child_at(self) -> datetime:
        return _local_midnight(self.child_day)

    @property
    def notes_at(self) -> datetime:
        return _local_midnight(self.notes_day)

    @property
    def consent_at(self) -> datetime:
        return _local_midnight(self.consent_day)

    @property
    def keys_at(self) -> datetime:
        return self.now - timedelta(days=self.periods.keys_days)

    @property
    def free_text_at(self) -> datetime:
        return self.now - timedelta(days=self.periods.free_text_days)


@dataclass(frozen=True, slots=True)
class Target:
    """One record a rule applies to: its id as audited, its child, and the key the repository
    acts on."""

    resource_id: str
    child_id: uuid.UUID | None
    key: Any


def _by_id(ids: Sequence[uuid.UUID]) -> list[Target]:
    return [Target(str(i), i, i) for i in ids]


def _with_child(pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> list[Target]:
    return [Target(str(record_id), child_id, record_id) for record_id, child_id in pairs]


def _idempotency_id(principal_id: str, key: str) -> str:
    """The key is chosen by the client and may say anything (even a name), so the audit trail
    names the record by a digest of its primary key."""
    return hashlib.sha256(f"{principal_id}\x1f{key}".encode()).hexdigest()


def _keys(pairs: Sequence[tuple[str, str]]) -> list[Target]:
    return [Target(_idempotency_id(p, k), None, (p, k)) for p, k in pairs]


Finder = Callable[[AsyncSession, Cutoffs], Awaitable[list[Target]]]
Changer = Callable[[AsyncSession, Cutoffs, list[Target]], Awaitable[list[Target]]]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    #: what the count is of, e.g. "children anonymised"
    label: str
    action: str
    resource_type: str
    reason: Callable[[Periods], str]
    find: Finder
    change: Changer


async def _find_children(session: AsyncSession, c: Cutoffs) -> list[Target]:
    return _by_id(await repository.inactive_children(session, inactive_before=c.child_at, ended_before=c.child_day))


async def _anonymise_children(session: AsyncSession, c: Cutoffs, targets: list[Target]) -> list[Target]:
    return _by_id(await repository.anonymise_children(
        session, [t.key for t in targets], inactive_before=c.child_at, ended_before=c.child_day, at=c.now,
    ))


async def _find_alerts(session: AsyncSession, c: Cutoffs) -> list[Target]:
    return _with_child(await repository.closed_alerts_with_texts(session, closed_before=c.notes_at))


async def _clear_alerts(session: AsyncSession, c: Cutoffs, targets: list[Target]) -> list[Target]:
    return _with_child(await repository.clear_alert_texts(session, [t.key for t in targets], closed_before=c.notes_at))


async def _find_consents(session: AsyncSession, c: Cutoffs) -> list[Target]:
    return _with_child(await repository.ended_consents_with_names(
        session, ended_before=c.consent_day, withdrawn_before=c.consent_at,
    ))


async def _strip_consents(session: AsyncSession, c: Cutoffs, targets: list[Target]) -> list[Target]:
    return _with_child(await repository.remove_guardian_names(
        session, [t.key for t in targets], ended_before=c.consent_day, withdrawn_before=c.consent_at,
    ))


async def _find_keys(session: AsyncSession, c: Cutoffs) -> list[Target]:
    return _keys(await repository.old_idempotency_keys(session, created_before=c.keys_at))


async def _purge_keys(session: AsyncSession, c: Cutoffs, targets: list[Target]) -> list[Target]:
    purged = await repository.purge_idempotency_records(session, [t.key for t in targets], created_before=c.keys_at)
    return _keys(purged)


async def _find_outbox(session: AsyncSession, c: Cutoffs) -> list[Target]:
    found = await repository.delivered_outbox_rows(session, delivered_before=c.keys_at)
    return [Target(str(i), None, i) for i in found]


async def _purge_outbox(session: AsyncSession, c: Cutoffs, targets: list[Target]) -> list[Target]:
    purged = await repository.purge_outbox_rows(session, [t.key for t in targets], delivered_before=c.keys_at)
    return [Target(str(i), None, i) for i in purged]


async def _find_free_texts(session: AsyncSession, c: Cutoffs) -> list[Target]:
    return [Target(s, None, s) for s in await repository.old_free_texts(session, created_before=c.free_text_at)]


async def _erase_free_texts(session: AsyncSession, c: Cutoffs, targets: list[Target]) -> list[Target]:
    erased = await repository.erase_free_texts(session, [t.key for t in targets], created_before=c.free_text_at)
    return [Target(s, None, s) for s in erased]


RULES: tuple[Rule, ...] = (
    Rule(
        "children", "children anonymised", "retention.child.anonymise", "child",
        lambda p: f"no open alert or enrolment for {p.child_years} years: PIN hash, names and date of birth removed",
        _find_children, _anonymise_children,
    ),
    Rule(
        "alert_texts", "closed alerts' texts cleared", "retention.alert.clear_texts", "alert",
        lambda p: f"closed over {p.notes_years} years ago: note, outcome reason and action texts cleared",
        _find_alerts, _clear_alerts,
    ),
    Rule(
        "consents", "consents' guardian names removed", "retention.consent.remove_guardian_name", "consent",
        lambda p: f"consent ended over {p.consent_years} years ago: guardian name removed",
        _find_consents, _strip_consents,
    ),
    Rule(
        "idempotency_records", "idempotency records purged", "retention.idempotency_record.purge",
        "idempotency_record",
        lambda p: f"stored answer older than {p.keys_days} days purged",
        _find_keys, _purge_keys,
    ),
    Rule(
        "outbox_deliveries", "delivered webhook events purged", "retention.outbox_delivery.purge",
        "outbox_delivery",
        lambda p: f"delivered webhook event older than {p.keys_days} days purged with its attempt log",
        _find_outbox, _purge_outbox,
    ),
    Rule(
        "audit_free_texts", "break-glass reasons erased", "retention.audit_free_text.erase", "audit_free_text",
        lambda p: f"break-glass reason older than {p.free_text_days} days erased (the audit chain keeps its SHA-256)",
        _find_free_texts, _erase_free_texts,
    ),
)


@dataclass(frozen=True, slots=True)
class Plan:
    cutoffs: Cutoffs
    targets: dict[str, list[Target]]

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(found) for name, found in self.targets.items()}

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def plan(session: AsyncSession, *, now: datetime, periods: Periods) -> Plan:
    """What a run at `now` would change, rule by rule. Reads only: a dry run is this."""
    cutoffs = Cutoffs(now, periods)
    return Plan(cutoffs, {rule.name: await rule.find(session, cutoffs) for rule in RULES})


async def apply(
    session: AsyncSession, *, actor: Principal, plan: Plan, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Carry the plan out in the caller's transaction, with one audit event per record changed;
    answers how many records each rule changed. Flushes, never commits."""
    done: dict[str, int] = {}
    for rule in RULES:
        targets = plan.targets.get(rule.name, [])
        reason = rule.reason(plan.cutoffs.periods)
        done[rule.name] = 0
        for start in range(0, len(targets), BATCH):
            batch = targets[start:start + BATCH]
            changed = await rule.change(session, plan.cutoffs, batch)
            await record_many(session, [
                AuditRecord(
                    actor=actor, action=rule.action, decision="allow", reason=f"retention: {reason}",
                    resource_type=rule.resource_type, resource_id=target.resource_id, child_id=target.child_id,
                    basis="legal_obligation",
                )
                for target in changed
            ])
            done[rule.name] += len(changed)
            if progress is not None:
                progress(len(batch))
    await session.flush()
    return done


def label(name: str) -> str:
    return next(rule.label for rule in RULES if rule.name == name)
