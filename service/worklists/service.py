"""Importing a list of children to find, all or nothing (DESIGN §3 Worklist).

Every row is checked first: the municipality (one the importing organisation serves), the ЕГН
or, where none is known, names, birth year and settlement, the reason and grade; a child listed
twice is an error. Any bad row refuses the whole list with a 422 naming each row and field. A good
list raises one `not_enrolled` alert per child and school year; importing it again updates the
open alerts whose details changed and never raises a second one, also for children already found
(a closed alert stays closed). Children seen for the first time are registered: by ЕГН, or as
provisional children (no PIN) known by names, birth year and settlement.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, audit_record, decide
from service.access.principal import Principal
from service.access.vocabulary import Action, OrganisationKind, Purpose
from service.alerts.details import AlertType
from service.alerts.outcomes import not_enrolled_key, school_year_of
from service.alerts.service import RuleHit, apply_rule_hits
from service.audit.service import record_many
from service.children.pin import pin_hash
from service.children.provisional import UNKNOWN_SEX, provisional_child
from service.core.clock import utcnow
from service.core.problems import ValidationProblem
from service.teams import service as teams
from service.worklists import repository
from service.worklists.parsing import WorklistRow, check_row
from service.worklists.schemas import WorklistArea, WorklistResult, WorklistTeam

MAX_REPORTED_ERRORS = 1000
_SCHOOL_YEAR = re.compile(r"^(\d{4})/(\d{4})$")
IMPORTER_KINDS = frozenset({OrganisationKind.municipality, OrganisationKind.education_authority})


def _refuse(errors: list[dict[str, Any]]) -> ValidationProblem:
    errors.sort(key=lambda e: (e["row"], e["field"] or ""))
    shown = errors[:MAX_REPORTED_ERRORS]
    rows = len({e["row"] for e in errors})
    extra: dict[str, Any] = {"errors_total": len(errors)} if len(errors) > len(shown) else {}
    return ValidationProblem(f"{rows} row(s) are not valid; nothing was imported", errors=shown, **extra)


def checked_school_year(value: str | None, today: date) -> str:
    if value is None:
        return school_year_of(today)
    found = _SCHOOL_YEAR.match(value)
    if found is None or int(found[2]) != int(found[1]) + 1:
        raise ValidationProblem("`school_year`: YYYY/YYYY, e.g. 2026/2027",
                                errors=[{"parameter": "school_year", "detail": "YYYY/YYYY of consecutive years"}])
    return value


def decide_import(actor: Principal, purpose: Purpose | None) -> Decision:
    """Function level, and only a municipality or an education authority imports a list."""
    decision = decide(actor, Action.import_worklist, purpose=purpose)
    if decision.allowed and actor.organisation_kind not in IMPORTER_KINDS:
        decision = Decision(allowed=False, action=decision.action,
            reason="lists come from municipalities and education authorities",
                            purpose=decision.purpose)
    return decision


def authorise(actor: Principal, purpose: Purpose | None) -> Decision:
    decision = decide_import(actor, purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="worklist")
    return decision


def provisional_key(secret: bytes, row: WorklistRow, school_year: str) -> str:
    """The rule key of a child known only by names, birth year and settlement: keyed, so the
    alert table holds no guessable digest of a name."""
    identity = "|".join(
        ("provisional", (row.given_name or "").casefold(), (row.family_name or "").casefold(), str(row.birth_year),
         row.settlement or "")
    )
    digest = hmac.new(secret, identity.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
    return f"{not_enrolled_key(school_year)}:{digest}"


def _check_rows(
    rows: Iterable[tuple[int, dict[str, Any]]], actor: Principal, today: date, secret: bytes, school_year: str
) -> tuple[list[tuple[WorklistRow, str]], list[dict[str, Any]]]:
    """Well-formed rows of served municipalities naming each child once, with the identity each
    names (a PIN hash, or a provisional child's key); and every error."""
    accepted: list[tuple[WorklistRow, str]] = []
    errors: list[dict[str, Any]] = []
    first_row_of: dict[str, int] = {}
    for number, fields in rows:
        row, row_errors = check_row(number, fields, today)
        errors.extend(row_errors)
        if row is None:
            continue
        if row.municipality not in actor.municipality_codes:
            errors.append({"row": number, "field": "municipality",
                           "detail": "not a municipality your organisation serves"})
            continue
        identity = pin_hash(secret, row.pin) if row.pin else provisional_key(secret, row, school_year)
        if identity in first_row_of:
            errors.append({"row": number, "field": "pin" if row.pin else "given_name",
                           "detail": f"row {first_row_of[identity]} already lists this child"})
            continue
        first_row_of[identity] = number
        accepted.append((row, identity))
    return accepted, errors


def _new_child(row: WorklistRow, digest: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "pin_hash": digest,
        "given_name": row.given_name,
        "family_name": row.family_name,
        "date_of_birth": None,
        "sex": row.sex or UNKNOWN_SEX,
        "municipality_code": row.municipality,
        "settlement_code": row.settlement,
        "created_at": utcnow(),
    }


async def _areas(
    session: AsyncSession, accepted: list[tuple[WorklistRow, str]], raising: list[str]
) -> list[WorklistArea]:
    """The list by municipality: its children, the alerts to raise (`raising`: the municipality of
    each child with no alert for the key yet) and the teams covering its settlements."""
    places: dict[str, set[str | None]] = {}
    rows: Counter[str] = Counter()
    for row, _ in accepted:
        places.setdefault(row.municipality, set()).add(row.settlement)
        rows[row.municipality] += 1
    covering = await teams.covering_teams(session, settlements_by_municipality=places)
    raised = Counter(raising)
    return [
        WorklistArea(
            municipality_code=code, rows=rows[code], alerts_raised=raised[code],
            teams=[WorklistTeam(id=team.id, code=team.code, name=team.name) for team in covering[code]],
        )
        for code in sorted(places)
    ]


async def import_list(
    session: AsyncSession,
    *,
    actor: Principal,
    purpose: Purpose | None,
    rows: Iterable[tuple[int, dict[str, Any]]],
    school_year: str | None,
    pin_secret: bytes,
    today: date,
    progress: Callable[[int], None] | None = None,
) -> WorklistResult:
    decision = authorise(actor, purpose)
    year = checked_school_year(school_year, today)
    accepted, errors = _check_rows(rows, actor, today, pin_secret, year)
    if errors:
        raise _refuse(errors)
    key = not_enrolled_key(year)
    known = await repository.children_by_pin_hashes(session, [i for r, i in accepted if r.pin])
    provisional_known = await repository.children_by_keys(session, [i for r, i in accepted if not r.pin])
    new_children: list[dict[str, Any]] = []
    new_provisional: list[uuid.UUID] = []
    child_of: dict[int, uuid.UUID] = {}
    for row, identity in accepted:
        found = known.get(identity) if row.pin else provisional_known.get(identity)
        if found is None and row.pin:
            new_children.append(_new_child(row, identity))
            found = new_children[-1]["id"]
        elif found is None:
            # the children package's identity rule: the provisional child a field team or an
            # earlier list registered with these names, birth year, sex and settlement, or a new one
            assert row.given_name and row.family_name and row.birth_year and row.settlement  # noqa: S101 - check_row
            child, made = await provisional_child(
                session, given_name=row.given_name, family_name=row.family_name, birth_year=row.birth_year,
                sex=row.sex or UNKNOWN_SEX, settlement_code=row.settlement, municipality_code=row.municipality,
            )
            found = child.id
            if made:
                new_provisional.append(child.id)
        child_of[row.row] = found
    await repository.insert_children(session, new_children)
    if progress:
        progress(len(accepted) // 2)
    dedup_of = {row.row: key if row.pin else identity for row, identity in accepted}
    states = await repository.alert_states_by_keys(session, [(child_of[r.row], dedup_of[r.row]) for r, _ in accepted])
    hits = [
        RuleHit(
            child_id=child_of[row.row],
            municipality_code=row.municipality,
            alert_type=AlertType.not_enrolled,
            severity="concern",
            details={"school_year": year, "reason": row.reason.value}
            | ({"expected_grade": row.expected_grade} if row.expected_grade is not None else {}),
            dedup_key=dedup_of[row.row],
            settlement_code=row.settlement,
        )
        for row, _ in accepted
        # a child found already (its alert closed) is not looked for again this school year
        if states.get((child_of[row.row], dedup_of[row.row])) != "closed"
    ]
    areas = await _areas(session, accepted, [
        row.municipality for row, _ in accepted if (child_of[row.row], dedup_of[row.row]) not in states
    ])
    raised, updated = await apply_rule_hits(session, actor=actor, hits=hits, raised_by="a list of children to find")
    registered = Decision(allowed=True, action=decision.action,
        reason="child registered from a list of children to find",
                          purpose=decision.purpose, basis="public_task")
    await record_many(
        session,
        [audit_record(actor, registered, "child", child["id"], child["id"]) for child in new_children]
        + [audit_record(actor, Decision(allowed=True, action=decision.action,
            reason="provisional child registered from a list of children to find",
                                        purpose=decision.purpose, basis="public_task"), "child", child_id, child_id)
           for child_id in new_provisional]
        + [audit_record(actor, Decision(allowed=True, action=decision.action,
            reason=f"list of children to find imported for {year}",
                                        purpose=decision.purpose, basis="public_task"), "worklist", None, None)],
    )
    if progress:
        progress(len(accepted) - len(accepted) // 2)
    return WorklistResult(
        school_year=year,
        rows_accepted=len(accepted),
        alerts_raised=len(raised),
        alerts_updated=len(updated),
        alerts_unchanged=len(accepted) - len(raised) - len(updated),
        children_registered=len(new_children),
        provisional_children=len(new_provisional),
        areas=areas,
    )
