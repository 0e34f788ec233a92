"""A school's whole roster at once (DESIGN §3 Rosters), from its administrator or its e-diary.

Every row is checked before anything is written: the PIN (ЕГН or ЛНЧ), the names, sex, grade,
a date of birth that agrees with the ЕГН, a settlement the classifier knows, the same pupil
named once, and that a known pupil is not enrolled at another school that has not released it
here. Any bad row refuses the whole roster with a 422 whose `errors` name each bad row and
field. A good roster registers the pupils new to Obhvat, enrolls the known ones who are not yet
pupils here, and matches (updating the grade of) those who are. Pupils of the school that the
roster does not name are listed in the answer, never ended: a pupil leaves a school by a
release (the transfer certificate), not by a missing row.

Written with Core statements in chunks (a roster is a whole school), one audit event per pupil.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, audit_record, decide
from service.access.principal import Principal, PrincipalKind
from service.access.vocabulary import Action, OrganisationKind, Role
from service.audit.service import AuditRecord, record_many
from service.children import repository
from service.children.models import Enrolment
from service.children.pin import InvalidPin, pin_hash, validate_pin
from service.children.schemas import RosterResult
from service.children.service import released_to
from service.core.clock import utcnow
from service.core.csv_reader import read_table
from service.core.problems import ValidationProblem
from service.core.schemas import person_name_problem

CHUNK = 1000
MAX_REPORTED_ERRORS = 1000
MAX_ROWS = 20_000

#: accepted header names (compared case-insensitively, spaces trimmed) → field
HEADERS = {
    "егн": "pin",
    "лнч": "pin",
    "егн/лнч": "pin",
    "pin": "pin",
    "име": "given_name",
    "собствено име": "given_name",
    "given_name": "given_name",
    "first name": "given_name",
    "фамилия": "family_name",
    "фамилно име": "family_name",
    "family_name": "family_name",
    "last name": "family_name",
    "пол": "sex",
    "sex": "sex",
    "клас": "grade",
    "група": "grade",
    "клас/група": "grade",
    "grade": "grade",
    "дата на раждане": "date_of_birth",
    "date_of_birth": "date_of_birth",
    "екатте": "settlement_code",
    "населено място (екатте)": "settlement_code",
    "settlement_code": "settlement_code",
    "адрес": "address",
    "address": "address",
}
REQUIRED = ("pin", "given_name", "family_name", "sex", "grade")
SEXES = {
    "male": "male", "m": "male", "м": "male", "мъж": "male", "мъжки": "male", "момче": "male",
    "female": "female", "f": "female", "ж": "female", "жена": "female", "женски": "female", "момиче": "female",
}
_BULGARIAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SETTLEMENT = re.compile(r"^[0-9]{5}$")

REFUSED_ELSEWHERE = (
    "the pupil is enrolled at another school that has not released the pupil to yours; "
    "that school releases the pupil first (the transfer certificate)"
)


def csv_rows(text: str) -> Iterable[tuple[int, dict[str, str]]]:
    """(row number, field → text) for each non-empty data row of a roster CSV."""
    return read_table(text, HEADERS, REQUIRED)


@dataclass(frozen=True, slots=True)
class RosterRow:
    row: int
    pin_hash: str
    given_name: str
    family_name: str
    sex: str
    grade: int
    date_of_birth: date | None
    settlement_code: str | None
    address: str | None


_TEXT_FIELDS = ("pin", "given_name", "family_name", "sex", "date_of_birth", "settlement_code", "address")


def _text(fields: dict[str, Any], field: str) -> str | None:
    """The field's text, stripped; None when absent, empty or not text (reported by `_types`).
    A JSON grade may be a number."""
    value = fields.get(field)
    if field == "grade" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _types(number: int, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """Errors for JSON values of the wrong type (a PIN as a number loses its leading zero)."""
    errors = [
        {"row": number, "field": field, "detail": "must be text"}
        for field in _TEXT_FIELDS if fields.get(field) is not None and not isinstance(fields[field], str)
    ]
    grade = fields.get("grade")
    if isinstance(grade, bool) or (grade is not None and not isinstance(grade, int | str)):
        errors.append({"row": number, "field": "grade", "detail": "a whole number from 0 (preschool group) to 12"})
    return errors


def _date(value: str) -> date | None:
    matched = _BULGARIAN_DATE.match(value)
    try:
        if matched:
            return date(int(matched[3]), int(matched[2]), int(matched[1]))
        return date.fromisoformat(value)
    except ValueError:
        return None


def check_row(
    number: int, fields: dict[str, Any], today: date, secret: bytes
) -> tuple[RosterRow | None, list[dict[str, Any]]]:
    """The row's values, or its errors (one per bad field)."""
    if "__error__" in fields:
        return None, [{"row": number, "field": None, "detail": fields["__error__"]}]
    errors = _types(number, fields)
    if errors:
        return None, errors

    def bad(field: str, detail: str) -> None:
        errors.append({"row": number, "field": field, "detail": detail})

    digest, born_by_pin = "", None
    pin = _text(fields, "pin")
    if pin is None:
        bad("pin", "missing")
    else:
        try:
            facts = validate_pin(pin)
            digest, born_by_pin = pin_hash(secret, facts.normalised), facts.birth_date
        except InvalidPin as exc:
            bad("pin", f"not a valid ЕГН or ЛНЧ: {exc}")
    names = {}
    for field in ("given_name", "family_name"):
        name = _text(fields, field)
        if name is None:
            bad(field, "missing")
        elif len(name) > 100:
            bad(field, "at most 100 characters")
        elif problem := person_name_problem(name):
            bad(field, problem)
        names[field] = name or ""
    sex_text = _text(fields, "sex")
    sex = SEXES.get(sex_text.lower()) if sex_text else None
    if sex is None:
        bad("sex", "male or female (м or ж)")
    grade_text = _text(fields, "grade")
    grade = int(grade_text) if grade_text and grade_text.isascii() and grade_text.isdigit() else None
    if grade is None or not 0 <= grade <= 12:
        bad("grade", "a whole number from 0 (preschool group) to 12")
    born_text = _text(fields, "date_of_birth")
    born = _date(born_text) if born_text else None
    if born_text and born is None:
        bad("date_of_birth", "a date as YYYY-MM-DD or DD.MM.YYYY")
    elif born is not None and born_by_pin is not None and born != born_by_pin:
        bad("date_of_birth", "does not agree with the ЕГН")
    elif born is not None and born > today:
        bad("date_of_birth", "is in the future")
    elif born is None and born_by_pin is None and digest:
        bad("date_of_birth", "required for a ЛНЧ, which encodes no birth date")
    settlement = _text(fields, "settlement_code")
    if settlement is not None and not _SETTLEMENT.match(settlement):
        bad("settlement_code", "an EKATTE code is five digits")
    address = _text(fields, "address")
    if address is not None and len(address) > 300:
        bad("address", "at most 300 characters")
    if errors or sex is None or grade is None:
        return None, errors
    return RosterRow(
        number, digest, names["given_name"], names["family_name"], sex, grade, born_by_pin or born, settlement, address
    ), []


def _check_rows(
    rows: Iterable[tuple[int, dict[str, Any]]], today: date, secret: bytes
) -> tuple[list[RosterRow], list[dict[str, Any]]]:
    accepted: list[RosterRow] = []
    errors: list[dict[str, Any]] = []
    first_row_of: dict[str, int] = {}
    for number, fields in rows:
        if number > MAX_ROWS:
            errors.append({"row": number, "field": None, "detail": f"a roster has at most {MAX_ROWS} pupils"})
            break
        row, row_errors = check_row(number, fields, today, secret)
        errors.extend(row_errors)
        if row is None:
            continue
        if row.pin_hash in first_row_of:
            errors.append(
                {"row": number, "field": "pin", "detail": f"row {first_row_of[row.pin_hash]} already names this pupil"}
            )
            continue
        first_row_of[row.pin_hash] = number
        accepted.append(row)
    return accepted, errors


def _refuse(actor: Principal, school_id: uuid.UUID, errors: list[dict[str, Any]]) -> ValidationProblem:
    errors.sort(key=lambda e: (e["row"], e["field"] or ""))
    shown = errors[:MAX_REPORTED_ERRORS]
    rows = sorted({e["row"] for e in errors})
    extra: dict[str, Any] = {"errors_total": len(errors)} if len(errors) > len(shown) else {}
    problem = ValidationProblem(f"{len(rows)} row(s) are not valid; nothing was imported", errors=shown, **extra)
    if any(e["detail"] == REFUSED_ELSEWHERE for e in errors):
        # a decision about children (another school holds them), as a refused enrolment is;
        # a roster refused for its format only is no decision about anyone, as an absence batch
        problem.audit_entry = AuditRecord(
            actor=actor, action=Action.import_roster.value, decision="deny",
            reason="roster refused: a pupil is enrolled at another school and not released", resource_type="roster",
            resource_id=str(school_id),
        )
    return problem


def authorise(actor: Principal) -> Decision:
    """A school's administrator, or its e-diary (a client of the school), sends its roster."""
    decision = decide(actor, Action.import_roster)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="roster")
    if actor.organisation_kind is not OrganisationKind.school or actor.organisation_id is None:
        raise AccessDenied(
            actor, Decision(allowed=False, action=decision.action, reason="rosters come from schools",
                            purpose=decision.purpose),
            resource_type="roster",
        )
    if Role.school_admin not in actor.roles and actor.kind is not PrincipalKind.client:
        raise AccessDenied(
            actor,
            Decision(allowed=False, action=decision.action,
                     reason="a roster is sent by the school's administrator or its e-diary",
                     purpose=decision.purpose),
            resource_type="roster",
        )
    return decision


def _start_for(enrolments: list[Enrolment], school_id: uuid.UUID, start: date) -> date | None:
    """When a known child's enrolment here may start (on or after `start`), or None when
    another school holds the pupil (enrolled and not released here, or released to a third
    school). The same rule as `service.enrol`."""
    others = [e for e in enrolments if e.school_id != school_id]
    overlapping = [e for e in others if e.end_date is None or e.end_date >= start]
    if any(not released_to(e, school_id) for e in overlapping):
        return None
    ends = [e.end_date for e in overlapping if e.end_date is not None]
    if ends:
        start = max(start, max(ends) + timedelta(days=1))
    before = [e for e in enrolments if e.start_date <= start]
    if before and before[-1].school_id != school_id and before[-1].release_destination is not None \
            and not released_to(before[-1], school_id):
        return None
    return start


def _current_here(enrolments: list[Enrolment], school_id: uuid.UUID, start: date) -> Enrolment | None:
    """The child's enrolment at this school that runs on or after `start`, if any."""
    here = [e for e in enrolments if e.school_id == school_id and (e.end_date is None or e.end_date >= start)]
    return here[-1] if here else None


async def import_roster(
    session: AsyncSession,
    *,
    actor: Principal,
    rows: Iterable[tuple[int, dict[str, Any]]],
    pin_secret: bytes,
    today: date,
    start_date: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> RosterResult:
    decision = authorise(actor)
    school_id = actor.organisation_id
    assert school_id is not None  # noqa: S101 - authorise refuses principals without one
    start = start_date or today

    # checking and hashing a whole school takes a while: off the event loop, which keeps answering
    accepted, errors = await anyio.to_thread.run_sync(_check_rows, rows, today, pin_secret)
    if not accepted and not errors:
        raise ValidationProblem("the roster has no rows", errors=[{"row": 0, "field": None, "detail": "no data rows"}])

    settlements = sorted({r.settlement_code for r in accepted if r.settlement_code})
    municipality_of: dict[str, str] = {}
    for chunk_start in range(0, len(settlements), CHUNK):
        municipality_of.update(
            await repository.settlement_municipalities(session, settlements[chunk_start : chunk_start + CHUNK])
        )
    for row in accepted:
        if row.settlement_code and row.settlement_code not in municipality_of:
            errors.append({"row": row.row, "field": "settlement_code",
                           "detail": "not a settlement of the EKATTE classifier loaded here"})

    known: dict[str, uuid.UUID] = {}
    hashes = [r.pin_hash for r in accepted]
    for chunk_start in range(0, len(hashes), CHUNK):
        known.update(await repository.lock_children_by_pin_hash(session, hashes[chunk_start : chunk_start + CHUNK]))
    enrolments: dict[uuid.UUID, list[Enrolment]] = {}
    known_ids = list(known.values())
    for chunk_start in range(0, len(known_ids), CHUNK):
        for enrolment in await repository.enrolments_of_children(session, known_ids[chunk_start : chunk_start + CHUNK]):
            enrolments.setdefault(enrolment.child_id, []).append(enrolment)

    # what each row will do: ("match", enrolment) | ("enrol", child id, start) | ("register", start)
    plans: dict[int, tuple[str, Any, Any]] = {}
    for row in accepted:
        child_id = known.get(row.pin_hash)
        if child_id is None:
            plans[row.row] = ("register", None, start)
            continue
        history = enrolments.get(child_id, [])
        here = _current_here(history, school_id, start)
        if here is not None:
            plans[row.row] = ("match", here, None)
            continue
        begins = _start_for(history, school_id, start)
        if begins is None:
            errors.append({"row": row.row, "field": "pin", "detail": REFUSED_ELSEWHERE})
            continue
        plans[row.row] = ("enrol", child_id, begins)
    if errors:
        raise await anyio.to_thread.run_sync(_refuse, actor, school_id, errors)

    now = utcnow()
    new_children = [
        _child_row(r, municipality_of.get(r.settlement_code or ""), now) for r in accepted
        if plans[r.row][0] == "register"
    ]
    for chunk_start in range(0, len(new_children), CHUNK):
        await repository.insert_children(session, new_children[chunk_start : chunk_start + CHUNK])
    registered = {c["pin_hash"] for c in new_children}
    if registered:
        # read back under lock: a child registered meanwhile by someone else keeps its own id
        fresh = [c["pin_hash"] for c in new_children]
        for chunk_start in range(0, len(fresh), CHUNK):
            known.update(await repository.lock_children_by_pin_hash(session, fresh[chunk_start : chunk_start + CHUNK]))

    new_enrolments: list[dict[str, Any]] = []
    grades: list[tuple[uuid.UUID, int]] = []
    events: list[AuditRecord] = []
    counts = {"register": 0, "enrol": 0, "match": 0, "grade": 0}
    for row in accepted:
        kind, target, begins = plans[row.row]
        child_id = known[row.pin_hash]
        counts[kind] += 1
        if kind == "match":
            enrolment_id = target.id
            reason = "roster matched a pupil of the school"
            if target.grade != row.grade:
                grades.append((target.id, row.grade))
                counts["grade"] += 1
                reason = "roster matched a pupil of the school; grade changed"
        else:
            enrolment_id = uuid.uuid4()
            new_enrolments.append({
                "id": enrolment_id, "child_id": child_id, "school_id": school_id, "grade": row.grade,
                "start_date": begins, "end_date": None, "created_at": now, "release_destination": None,
                "release_school_id": None, "released_at": None,
            })
            reason = "pupil registered and enrolled from the school's roster" if kind == "register" else \
                "pupil enrolled from the school's roster"
        events.append(audit_record(
            actor, Decision(allowed=True, action=Action.import_roster, reason=reason, purpose=decision.purpose,
                            basis="public_task"),
            "enrolment", enrolment_id, child_id,
        ))
    for chunk_start in range(0, len(new_enrolments), CHUNK):
        await repository.insert_enrolments(session, new_enrolments[chunk_start : chunk_start + CHUNK])
    by_grade: dict[int, list[uuid.UUID]] = {}
    for enrolment_id, grade in grades:
        by_grade.setdefault(grade, []).append(enrolment_id)
    for grade, ids in sorted(by_grade.items()):
        for chunk_start in range(0, len(ids), CHUNK):
            await repository.set_grade(session, ids[chunk_start : chunk_start + CHUNK], grade)
    for chunk_start in range(0, len(events), CHUNK):
        chunk = events[chunk_start : chunk_start + CHUNK]
        await record_many(session, chunk)
        if progress is not None:
            progress(len(chunk))

    roster_children = {known[r.pin_hash] for r in accepted}
    current = await repository.current_enrolments_at(session, school_id, today)
    return RosterResult(
        school_id=school_id,
        rows=len(accepted),
        registered=counts["register"],
        enrolled=counts["register"] + counts["enrol"],
        matched=counts["match"],
        grade_changed=counts["grade"],
        not_in_roster=sorted(eid for cid, eid in current.items() if cid not in roster_children),
    )


def _child_row(row: RosterRow, municipality: str | None, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(), "pin_hash": row.pin_hash, "given_name": row.given_name, "family_name": row.family_name,
        "date_of_birth": row.date_of_birth, "sex": row.sex, "municipality_code": municipality,
        "settlement_code": row.settlement_code, "address": row.address, "created_at": now,
        "anonymised_at": None, "birth_year": None, "merged_into_id": None, "merged_at": None,
    }
