"""Importing a school's monthly absence batch, all or nothing, and applying the threshold rules.

Every row is checked before anything is written: the PIN, that the pupil is enrolled at the
calling school now, the month (well-formed, not in the future), the hours (whole, 0–300), and
that the batch does not name the same pupil-month twice. Any bad row refuses the whole batch
with a 422 whose `errors` name each bad row and field. A good batch replaces figures already
sent for the same pupil-month, and the rules raise — or update — at most one open alert per
child, type and month (or school year).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from service.absences import repository
from service.absences.models import AbsenceBatch, AbsenceRule
from service.absences.parsing import AbsenceRow, check_row, school_year, school_year_months
from service.absences.schemas import AbsenceBatchRead, AbsenceRuleBody, AbsenceRules
from service.access.policy import AccessDenied, Decision, audit_record, decide, require
from service.access.principal import Principal
from service.access.vocabulary import Action, OrganisationKind, Purpose
from service.alerts.details import AlertType
from service.alerts.service import RuleHit, apply_rule_hits
from service.audit.service import AuditRecord, record, record_many
from service.children.pin import pin_hash
from service.core.clock import utcnow
from service.core.problems import ValidationProblem
from service.organisations import repository as organisations

CHUNK = 1000
MAX_REPORTED_ERRORS = 1000


def _refuse(errors: list[dict[str, Any]]) -> ValidationProblem:
    errors.sort(key=lambda e: (e["row"], e["field"] or ""))
    shown = errors[:MAX_REPORTED_ERRORS]
    rows = sorted({e["row"] for e in errors})
    detail = f"{len(rows)} row(s) are not valid; nothing was imported"
    extra: dict[str, Any] = {"errors_total": len(errors)} if len(errors) > len(shown) else {}
    return ValidationProblem(detail, errors=shown, **extra)


def _authorised(actor: Principal, purpose: Purpose | None, batch_id: uuid.UUID | None = None) -> Decision:
    """Function level, and only a school's own staff or e-diary report its absences."""
    resource_id = str(batch_id) if batch_id else None
    decision = decide(actor, Action.submit_absences, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="absence_batch", resource_id=resource_id)
    if actor.organisation_kind is not OrganisationKind.school or actor.organisation_id is None:
        raise AccessDenied(
            actor,
            Decision(
                allowed=False, action=decision.action, reason="absence figures come from schools",
                purpose=decision.purpose,
            ),
            resource_type="absence_batch",
            resource_id=resource_id,
        )
    return decision


async def redecide_submission(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, batch_id: uuid.UUID, school_id: uuid.UUID
) -> None:
    """A retry of a batch already imported (same `Idempotency-Key`): decided again for the
    caller as it is now (still of the school that sent it), and audited, before its first
    answer is replayed."""
    decision = _authorised(actor, purpose, batch_id)
    if actor.organisation_id != school_id:
        raise AccessDenied(
            actor,
            Decision(
                allowed=False, action=decision.action, reason="batch of another school", purpose=decision.purpose,
                deny_status=404,
            ),
            resource_type="absence_batch",
            resource_id=str(batch_id),
        )
    replayed = Decision(
        allowed=True, action=decision.action, reason="idempotent replay of an absence batch", purpose=decision.purpose,
        basis="legal_obligation",
    )
    await record(session, audit_record(actor, replayed, "absence_batch", batch_id, None))


def _check_rows(
    rows: Iterable[tuple[int, dict[str, Any]]], today: date, pin_secret: bytes
) -> tuple[list[AbsenceRow], list[dict[str, Any]], dict[int, str]]:
    """The rows that are well-formed and name each pupil-month once, every error, and the PIN
    hash of each accepted row (by row number)."""
    accepted: list[AbsenceRow] = []
    errors: list[dict[str, Any]] = []
    first_row_of: dict[tuple[str, str], int] = {}
    for number, fields in rows:
        row, row_errors = check_row(number, fields, today)
        errors.extend(row_errors)
        if row is None:
            continue
        key = (row.pin, row.month)
        if key in first_row_of:
            errors.append(
                {
                    "row": number,
                    "field": "month",
                    "detail": f"row {first_row_of[key]} already gives this pupil's figure for {row.month}",
                }
            )
            continue
        first_row_of[key] = number
        accepted.append(row)
    return accepted, errors, {row.row: pin_hash(pin_secret, row.pin) for row in accepted}


async def submit(
    session: AsyncSession,
    *,
    actor: Principal,
    rows: Iterable[tuple[int, dict[str, Any]]],
    source: str,
    pin_secret: bytes,
    today: date,
    purpose: Purpose | None = None,
    progress: Callable[[int], None] | None = None,
) -> AbsenceBatchRead:
    decision = _authorised(actor, purpose)
    assert actor.organisation_id is not None  # noqa: S101 - _authorised refuses principals without one
    school_id = actor.organisation_id

    # checking and hashing a large batch takes seconds: off the event loop, which keeps answering
    accepted, errors, hashes = await anyio.to_thread.run_sync(_check_rows, rows, today, pin_secret)
    pupils: dict[str, tuple[uuid.UUID, str | None, int]] = {}
    distinct = list(dict.fromkeys(hashes.values()))
    for start in range(0, len(distinct), CHUNK):
        pupils.update(await repository.enrolled_children(session, school_id, distinct[start : start + CHUNK], today))
    for row in accepted:
        pupil = pupils.get(hashes[row.row])
        if pupil is None:
            # the same words whether the PIN is unknown or the pupil is another school's
            errors.append(
                {"row": row.row, "field": "pin", "detail": "no pupil with this PIN is enrolled at your school"}
            )
        elif row.unit == "days" and pupil[2] != 0:
            errors.append(
                {"row": row.row, "field": "unexcused_days",
                 "detail": "days are counted for kindergarten children (grade 0); send this pupil's hours"}
            )
    if errors:
        raise await anyio.to_thread.run_sync(_refuse, errors)
    if not accepted:
        raise ValidationProblem("the batch has no rows", errors=[{"row": 0, "field": None, "detail": "no data rows"}])

    batch = AbsenceBatch(school_id=school_id, submitted_by=actor.id, source=source, rows_accepted=len(accepted))
    await repository.add_batch(session, batch)
    now = utcnow()
    for start in range(0, len(accepted), CHUNK):
        chunk = accepted[start : start + CHUNK]
        await repository.upsert_reports(
            session,
            [
                {
                    "id": uuid.uuid4(),
                    "school_id": school_id,
                    "child_id": pupils[hashes[r.row]][0],
                    "month": r.month,
                    "unexcused_hours": r.unexcused_hours,
                    "excused_hours": r.excused_hours,
                    "unit": r.unit,
                    "batch_id": batch.id,
                    "updated_at": now,
                }
                for r in chunk
            ],
        )
        written = Decision(
            allowed=True, action=Action.submit_absences, reason="absence figure reported", purpose=decision.purpose,
            basis="legal_obligation",
        )
        await record_many(
            session, [audit_record(actor, written, "absence_batch", batch.id, pupils[hashes[r.row]][0]) for r in chunk]
        )
        if progress is not None:
            progress(len(chunk))

    raised, updated = await _apply_rules(
        session,
        actor=actor,
        school_id=school_id,
        rows=accepted,
        children={r.row: pupils[hashes[r.row]][:2] for r in accepted},
    )
    batch.alerts_raised = [str(a) for a in raised]
    batch.alerts_updated = [str(a) for a in updated]
    await session.flush()
    return _batch_read(batch)


async def _apply_rules(
    session: AsyncSession,
    *,
    actor: Principal,
    school_id: uuid.UUID,
    rows: list[AbsenceRow],
    children: dict[int, tuple[uuid.UUID, str | None]],
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    hits: list[RuleHit] = []
    school_codes = (await organisations.municipality_codes(session, [school_id]))[school_id]
    school_municipality = school_codes[0] if school_codes else None
    for rule in await repository.rules(session):
        if not rule.enabled:
            continue
        if rule.months == 1:
            crossings = [
                (
                    children[r.row],
                    {"month": r.month, f"unexcused_{r.unit}": r.unexcused_hours},
                    f"{rule.alert_type}:{r.month}",
                )
                for r in rows
                if r.unit == rule.unit and r.unexcused_hours > rule.threshold_hours
            ]
        else:
            crossings = await _school_year_hits(session, rule, rows, children)
        hits.extend(
            RuleHit(child_id, municipality, AlertType(rule.alert_type), rule.severity, details, key)
            for (child_id, address_municipality), details, key in crossings
            if (municipality := address_municipality or school_municipality)
        )
    return await apply_rule_hits(session, actor=actor, hits=hits)


async def _school_year_hits(
    session: AsyncSession, rule: AbsenceRule, rows: list[AbsenceRow], children: dict[int, tuple[uuid.UUID, str | None]]
) -> list[tuple[tuple[uuid.UUID, str | None], dict[str, Any], str]]:
    """Pupils of this batch with more than the threshold in `rule.months` months of a school
    year (counting what every school reported)."""
    by_year: dict[str, dict[uuid.UUID, tuple[uuid.UUID, str | None]]] = {}
    for r in rows:
        if r.unit == rule.unit and r.unexcused_hours > rule.threshold_hours:
            by_year.setdefault(school_year(r.month), {})[children[r.row][0]] = children[r.row]
    hits = []
    for year, pupils in by_year.items():
        ids = list(pupils)
        for start in range(0, len(ids), CHUNK):
            over = await repository.months_over(
                session, ids[start : start + CHUNK], school_year_months(year), rule.threshold_hours, rule.unit
            )
            for child_id, months in over.items():
                if len(months) >= rule.months:
                    details = {"school_year": year, "months_over_threshold": len(months), "indicators": ["absences"]}
                    hits.append((pupils[child_id], details, f"{rule.alert_type}:{year}"))
    return hits


def _batch_read(batch: AbsenceBatch) -> AbsenceBatchRead:
    return AbsenceBatchRead(
        id=batch.id,
        school_id=batch.school_id,
        source=batch.source,
        rows_accepted=batch.rows_accepted,
        alerts_raised=[uuid.UUID(a) for a in batch.alerts_raised],
        alerts_updated=[uuid.UUID(a) for a in batch.alerts_updated],
        created_at=batch.created_at,
    )


async def read_batch(session: AsyncSession, *, actor: Principal, batch_id: uuid.UUID) -> AbsenceBatchRead:
    """A batch's result, for the school that sent it (404 for everyone else)."""
    decision = decide(actor, Action.submit_absences)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="absence_batch", resource_id=str(batch_id))
    batch = await repository.get_batch(session, batch_id)
    if batch is None or batch.school_id != actor.organisation_id:
        raise AccessDenied(
            actor,
            Decision(
                allowed=False, action=decision.action, reason="not a batch of the caller's school", deny_status=404,
            ),
            resource_type="absence_batch",
            resource_id=str(batch_id),
        )
    return _batch_read(batch)


async def read_rules(session: AsyncSession, *, actor: Principal) -> AbsenceRules:
    require(actor, Action.manage_rules)
    return AbsenceRules(
        items=[AbsenceRuleBody.model_validate(r, from_attributes=True) for r in await repository.rules(session)]
    )


async def replace_rules(session: AsyncSession, *, actor: Principal, data: AbsenceRules) -> AbsenceRules:
    """Monthly rules (months = 1) raise unexcused_absences per month; school-year rules
    (months > 1) raise dropout_risk per school year."""
    require(actor, Action.manage_rules)
    errors = []
    names: set[str] = set()
    for index, rule in enumerate(data.items):
        if rule.name in names:
            errors.append({"pointer": f"#/items/{index}/name", "detail": "name used twice"})
        names.add(rule.name)
        expected = AlertType.unexcused_absences if rule.months == 1 else AlertType.dropout_risk
        if rule.alert_type is not expected:
            errors.append(
                {
                    "pointer": f"#/items/{index}/alert_type",
                    "detail": f"a rule over {rule.months} month(s) raises {expected.value}",
                }
            )
    if errors:
        raise ValidationProblem(errors[0]["detail"], errors=errors)
    await repository.replace_rules(
        session,
        [
            {**r.model_dump(), "alert_type": r.alert_type.value, "severity": r.severity.value, "unit": r.unit.value}
            for r in data.items
        ],
    )
    await record(
        session,
        AuditRecord(
            actor=actor,
            action="absence_rules.replace",
            decision="allow",
            reason="administrator changed configuration",
            resource_type="absence_rules",
        ),
    )
    return await read_rules(session, actor=actor)
