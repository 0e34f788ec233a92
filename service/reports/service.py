"""The municipal summary: alerts counted by type, status, outcome and source, times from routing
to acknowledgement per kind of recipient, and alerts left open for over 30 days — with small
counts hidden (`suppression.py`) so that no child can be singled out. Every read is audited."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, enforce, require
from service.access.principal import Principal
from service.access.relationships import decide_municipal_report
from service.access.vocabulary import Action, OrganisationKind, Purpose, Role
from service.alerts.details import AlertType
from service.alerts.schemas import Outcome
from service.core.clock import LOCAL_ZONE, utcnow
from service.core.csv_writer import csv_text
from service.core.problems import ValidationProblem
from service.reports import repository
from service.reports.repository import AlertCount, Selection
from service.reports.schemas import AcknowledgementTime, AlertCounts, SummaryReport
from service.reports.suppression import Group, Subset, small_count, suppress

LONG_OPEN_DAYS = 30
STATUSES = ("open", "closed")
#: closed alerts without a recorded outcome (none are expected) keep the outcome group adding up
NO_OUTCOME = "unrecorded"
SUPPRESSION_RULE = (
    'counts from 1 to 4 are shown as "<5"; where a "<5" could be worked out from a total and the '
    'other counts, further counts (shown as "suppressed") or the total are hidden too'
)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL_ZONE).astimezone(UTC)


def _categories(known: Iterable[str], seen: Iterable[str | None]) -> list[str]:
    """The vocabulary's values in its order, then anything else found in the data."""
    ordered = list(dict.fromkeys(known))
    return ordered + sorted({s for s in seen if s is not None} - set(ordered))


def _municipality_of(actor: Principal, municipality: str | None) -> str:
    if municipality is not None:
        return municipality
    if Role.municipal_coordinator in actor.roles and len(actor.municipality_codes) == 1:
        return next(iter(actor.municipality_codes))
    raise ValidationProblem(
        "name the municipality (an EKATTE code such as SZR12)",
        errors=[{"parameter": "municipality", "detail": "required unless your organisation serves one municipality"}],
    )


def _alert_counts(rows: list[AlertCount], long_open: int) -> AlertCounts:
    by_type: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    by_outcome: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    for row in rows:
        by_type[row.type] += row.count
        by_status[row.status] += row.count
        by_source[row.source_kind] += row.count
        if row.status == "closed":
            by_outcome[row.outcome or NO_OUTCOME] += row.count
    types = _categories(AlertType, by_type)
    statuses = _categories(STATUSES, by_status)
    outcomes = _categories(Outcome, by_outcome)
    sources = _categories(OrganisationKind, by_source)

    values: dict[str, int] = {"total": sum(by_type.values())}
    values |= {f"type:{k}": by_type[k] for k in types}
    values |= {f"status:{k}": by_status[k] for k in statuses}
    values |= {f"outcome:{k}": by_outcome[k] for k in outcomes}
    values |= {f"source:{k}": by_source[k] for k in sources}
    values["open_older"] = long_open
    shown = suppress(
        values,
        groups=[
            Group("total", tuple(f"type:{k}" for k in types)),
            Group("total", tuple(f"status:{k}" for k in statuses)),
            Group("total", tuple(f"source:{k}" for k in sources)),
            Group("status:closed", tuple(f"outcome:{k}" for k in outcomes)),
        ],
        subsets=[Subset("open_older", "status:open")],
    )
    return AlertCounts(
        total=shown["total"],
        by_type={k: shown[f"type:{k}"] for k in types},
        by_status={k: shown[f"status:{k}"] for k in statuses},
        by_outcome={k: shown[f"outcome:{k}"] for k in outcomes},
        by_source_kind={k: shown[f"source:{k}"] for k in sources},
        open_older_than_30_days=shown["open_older"],
    )


def _p90(hours: list[float]) -> float:
    if len(hours) == 1:
        return hours[0]
    return statistics.quantiles(hours, n=10, method="inclusive")[8]


def _acknowledgement_times(rows: list[tuple[str, datetime, datetime]]) -> list[AcknowledgementTime]:
    """Median and 90th percentile per recipient kind, computed here: SQLite has no percentiles."""
    hours: dict[str, list[float]] = {}
    for kind, delivered, acknowledged in rows:
        hours.setdefault(kind, []).append(max(0.0, (acknowledged - delivered).total_seconds() / 3600))
    return [
        AcknowledgementTime(
            recipient_kind=kind,
            acknowledged=small_count(len(hours.get(kind, []))),
            median_hours=round(statistics.median(hours[kind]), 2) if hours.get(kind) else None,
            p90_hours=round(_p90(hours[kind]), 2) if hours.get(kind) else None,
        )
        for kind in _categories(OrganisationKind, hours)
    ]


async def summary(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, municipality: str | None,
    first_day: date | None, last_day: date | None, today: date, fmt: str = "json",
) -> SummaryReport:
    """The summary of one municipality's alerts raised from `first_day` to `last_day` (local
    dates, both included; open-ended when not given)."""
    base = require(actor, Action.read_reports, purpose=purpose)
    municipality = _municipality_of(actor, municipality)
    decision = decide_municipal_report(actor, municipality, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="municipal_report", resource_id=municipality)
    if first_day is not None and last_day is not None and last_day < first_day:
        raise ValidationProblem(
            "`to` is before `from`", errors=[{"parameter": "to", "detail": "must not be before from"}]
        )
    selection = Selection(
        municipality_code=municipality,
        created_from=_local_midnight(first_day) if first_day else None,
        created_before=_local_midnight(last_day + timedelta(days=1)) if last_day else None,
    )
    counts = await repository.alert_counts(session, selection)
    long_open = await repository.open_alerts_created_before(
        session, selection, _local_midnight(today - timedelta(days=LONG_OPEN_DAYS))
    )
    times = await repository.acknowledgement_times(session, selection)
    audited = Decision(
        allowed=True, action=base.action, reason=f"municipal summary read ({fmt}): {decision.reason}",
        purpose=decision.purpose, basis=decision.basis,
    )
    await enforce(session, actor, audited, resource_type="municipal_report", resource_id=municipality)
    return SummaryReport(
        municipality=municipality, from_=first_day, to=last_day, generated_at=utcnow(),
        alerts=_alert_counts(counts, long_open), time_to_acknowledge=_acknowledgement_times(times),
        suppression=SUPPRESSION_RULE,
    )


CSV_FIELDS = ("section", "key", "value", "median_hours", "p90_hours")


def summary_csv(report: SummaryReport) -> str:
    """The report as CSV (UTF-8 with BOM, as spreadsheets open it), one row per figure."""
    alerts = report.alerts
    rows: list[tuple[object, ...]] = [
        ("report", "municipality", report.municipality, "", ""),
        ("report", "from", report.from_.isoformat() if report.from_ else "", "", ""),
        ("report", "to", report.to.isoformat() if report.to else "", "", ""),
        ("alerts", "total", alerts.total, "", ""),
    ]
    for section, cells in (("type", alerts.by_type), ("status", alerts.by_status), ("outcome", alerts.by_outcome),
                           ("source_kind", alerts.by_source_kind)):
        rows.extend((section, key, value, "", "") for key, value in cells.items())
    rows.append(("alerts", "open_older_than_30_days", alerts.open_older_than_30_days, "", ""))
    rows.extend(
        (
            "time_to_acknowledge", row.recipient_kind, row.acknowledged,
            "" if row.median_hours is None else row.median_hours, "" if row.p90_hours is None else row.p90_hours,
        )
        for row in report.time_to_acknowledge
    )
    return csv_text(CSV_FIELDS, rows)
