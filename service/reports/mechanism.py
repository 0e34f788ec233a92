"""The national enrolment mechanism's report (DESIGN §7 `GET /reports/mechanism`): children to
find, found, enrolled for the first time, returned, gone abroad, moved, not found, and retained
three months on — by municipality and settlement, for whole months, distinct children counted,
small counts hidden as in the summary report. Every read is audited."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, enforce, require
from service.access.principal import Principal
from service.access.relationships import ENROLMENT_ALERT_TYPES, decide_mechanism_report
from service.access.vocabulary import ENROLMENT_LEADS, Action, Purpose
from service.alerts.details import AlertType
from service.alerts.schemas import FollowUp, Outcome
from service.core.clock import utcnow
from service.core.csv_writer import csv_text
from service.core.problems import ValidationProblem
from service.reports import repository
from service.reports.periods import mechanism_period
from service.reports.schemas import MechanismReport, MechanismRow
from service.reports.service import SUPPRESSION_RULE, _local_midnight
from service.reports.suppression import Group, suppress

#: outcomes that mean the child was found (whatever became of it then)
FOUND = frozenset({
    Outcome.returned_to_school, Outcome.enrolled_first_time, Outcome.enrolled_elsewhere, Outcome.moved_abroad,
    Outcome.moved_within_country, Outcome.referred_to_service, Outcome.protective_measure,
})
MEASURES = (
    "children_to_find", "found", "enrolled_first_time", "returned_to_school", "moved_abroad",
    "moved_within_country", "not_found", "retained", "dropped_again",
)
UNKNOWN_SETTLEMENT = "unknown"


def _municipalities(actor: Principal, municipality: str | None) -> frozenset[str]:
    if municipality is not None:
        return frozenset({municipality})
    if actor.roles & ENROLMENT_LEADS and actor.municipality_codes:
        return actor.municipality_codes
    raise ValidationProblem(
        "name the municipality (an EKATTE code such as SZR12)",
        errors=[{"parameter": "municipality", "detail": "required unless your organisation serves municipalities"}],
    )


def _measures(case: repository.MechanismCase, start: datetime, end: datetime) -> list[str]:
    """Which measures of the period this case counts in."""
    def within(moment: datetime | None) -> bool:
        return moment is not None and start <= moment < end

    counted: list[str] = []
    if case.type == AlertType.not_enrolled.value and within(case.created_at):
        counted.append("children_to_find")
    if within(case.closed_at) and case.outcome is not None:
        if case.outcome in FOUND:
            counted.append("found")
        if case.outcome in MEASURES:
            counted.append(case.outcome)
    if within(case.follow_up_decided_at) and case.follow_up in (FollowUp.retained, FollowUp.dropped_again):
        counted.append(str(case.follow_up))
    return counted


async def mechanism(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, municipality: str | None,
    first_day: date | None, last_day: date | None, today: date, fmt: str = "json",
) -> MechanismReport:
    base = require(actor, Action.read_reports, purpose=purpose)
    codes = _municipalities(actor, municipality)
    decision = decide_mechanism_report(actor, codes, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="mechanism_report", resource_id=",".join(sorted(codes)))
    default_first, default_last = mechanism_period(today)
    first_day, last_day = first_day or default_first, last_day or default_last
    if last_day < first_day:
        raise ValidationProblem(
            "`to` is before `from`", errors=[{"parameter": "to", "detail": "must not be before from"}]
        )
    start, end = _local_midnight(first_day), _local_midnight(last_day + timedelta(days=1))
    cases = await repository.mechanism_cases(session, sorted(codes), sorted(ENROLMENT_ALERT_TYPES), start, end)
    children: dict[tuple[str, str, str], set[object]] = defaultdict(set)
    settlements: dict[str, set[str]] = {code: set() for code in codes}
    for case in cases:
        settlement = case.settlement_code or UNKNOWN_SETTLEMENT
        for measure in _measures(case, start, end):
            settlements[case.municipality_code].add(settlement)
            children[(case.municipality_code, settlement, measure)].add(case.child_id)
            children[(case.municipality_code, "", measure)].add(case.child_id)
    values = {
        f"{code}|{settlement}|{measure}": len(children[(code, settlement, measure)])
        for code in codes for settlement in ["", *settlements[code]] for measure in MEASURES
    }
    # settlements add up to their municipality unless a child was counted in two of them; the
    # complementary rule reasons over groups that add up exactly, so only those are given
    exact = {
        code: all(
            sum(values[f"{code}|{s}|{m}"] for s in settlements[code]) == values[f"{code}||{m}"] for m in MEASURES
        )
        for code in codes
    }
    shown = suppress(values, groups=[
        Group(f"{code}||{m}", tuple(f"{code}|{s}|{m}" for s in sorted(settlements[code])))
        for code in codes if exact[code] and settlements[code] for m in MEASURES
    ])
    rows = [
        MechanismRow.model_validate(
            {"municipality_code": code, "settlement_code": settlement or None}
            | {m: shown[f"{code}|{settlement}|{m}"] for m in MEASURES}
        )
        for code in sorted(codes) for settlement in ["", *sorted(settlements[code])]
    ]
    audited = Decision(allowed=True, action=base.action,
        reason=f"mechanism report read ({fmt}): {decision.reason}", purpose=decision.purpose,
                       basis=decision.basis)
    await enforce(session, actor, audited, resource_type="mechanism_report", resource_id=",".join(sorted(codes)))
    return MechanismReport(
        municipality_codes=sorted(codes), from_=first_day, to=last_day, generated_at=utcnow(), rows=rows,
        suppression=SUPPRESSION_RULE,
    )


def mechanism_csv(report: MechanismReport) -> str:
    """The report as CSV (UTF-8 with BOM), one row per municipality and settlement."""
    fields = ("municipality_code", "settlement_code", *MEASURES)
    return csv_text(fields, [
        (row.municipality_code, row.settlement_code or "", *(getattr(row, m) for m in MEASURES)) for row in report.rows
    ])
