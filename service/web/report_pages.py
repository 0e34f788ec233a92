"""The coordinator's municipal report: the same summary as `GET /api/v1/reports/summary`, for
whole months, with small counts hidden exactly as the API hides them (the page shows what the
service answered, nothing recomputed), a bar chart drawn on the server as SVG with the figures
also in a table, and the same CSV download."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.children import settlements
from service.core.clock import Today
from service.core.database import DbSession
from service.core.problems import Problem
from service.reports import mechanism
from service.reports import service as reports
from service.reports.periods import first_day_of, last_day_of
from service.reports.schemas import MechanismReport, SummaryReport
from service.reports.suppression import SMALL, THRESHOLD, Shown
from service.web.dependencies import SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt
from service.web.labels import LABELS, N_
from service.web.rendering import renderer
from service.web.views import person_view

MUNICIPALITY = re.compile(r"^[A-Z]{3}[0-9]{2}$")
#: the mechanism report's columns, in the order of the API's rows and CSV
MECHANISM_COLUMNS = {
    "children_to_find": N_("Children to find"),
    "found": N_("Found"),
    "enrolled_first_time": N_("First enrolled"),
    "returned_to_school": N_("Back in school"),
    "moved_abroad": N_("Gone abroad"),
    "moved_within_country": N_("Moved elsewhere in the country"),
    "not_found": N_("Never found"),
    "retained": N_("Still in school three months on"),
    "dropped_again": N_("Out of school again"),
}
ReportT = TypeVar("ReportT", SummaryReport, MechanismReport)

router = APIRouter(include_in_schema=False, tags=["console"])

#: each type's name above its bar, so long Bulgarian names fit and the chart reads at 360 px
CHART_WIDTH = 360
LABEL_HEIGHT = 22
BAR_HEIGHT = 22
BAR_GAP = 14
ROW_HEIGHT = LABEL_HEIGHT + BAR_HEIGHT + BAR_GAP
#: room right of the longest bar for its figure
FIGURE_ROOM = 110


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of the chart: a shown count is drawn to scale; a hidden one is drawn as an
    outline of the most it could be (below 5), or not at all, and says so in words."""

    label: str
    shown: Shown
    y: int
    width: int
    hidden: bool


def chart_bars(counts: dict[str, Shown], labels: dict[str, str]) -> tuple[list[Bar], int]:
    """The bars of a group of counts and the chart's height. "<5" is drawn as the width of 5,
    outlined (the most it could be); "suppressed" gets no bar."""
    numbers = [c for c in counts.values() if isinstance(c, int)]
    largest = max([*numbers, THRESHOLD, 1])
    scale = (CHART_WIDTH - FIGURE_ROOM) / largest
    bars = []
    for index, (key, count) in enumerate(counts.items()):
        if isinstance(count, int):
            width, hidden = round(count * scale), False
        else:
            width, hidden = (round(THRESHOLD * scale) if count == SMALL else 0), True
        bars.append(Bar(labels.get(key, key), count, index * ROW_HEIGHT, width, hidden))
    return bars, max(1, len(bars)) * ROW_HEIGHT


def _period_errors(problem: Problem) -> FormErrors:
    errors = FormErrors()
    for entry in problem.errors or []:
        parameter = str(entry.get("parameter") or "")
        if parameter in ("from", "to"):
            errors.add(parameter, N_("Choose a whole month, and a last month that is not before the first"))
        elif parameter == "municipality":
            errors.add("municipality", N_("Enter the municipality's code, for example LOV18"))
    if not errors:
        errors.general.append(problem.detail or problem.title)
    return errors


async def _summary(
    session: Any, person: Any, today: Any, municipality: str, first: str, last: str, fmt: str
) -> SummaryReport:
    """What the API's route does with its query: the period as whole months, then the summary."""
    return await reports.summary(
        session, actor=person.principal, purpose=None, municipality=municipality or None,
        first_day=first_day_of(first or None), last_day=last_day_of(last or None), today=today, fmt=fmt,
    )


def _form_values(municipality: str, first: str, last: str) -> dict[str, str]:
    return {"municipality": municipality.strip().upper()[:5], "first": first.strip()[:7], "last": last.strip()[:7]}


async def _read_report(
    request: Request, session: Any, values: dict[str, str], read: Callable[[], Awaitable[ReportT]]
) -> tuple[ReportT | None, FormErrors] | Response:
    """A report page's query read as the API reads it: the report, or the errors to show on the
    form (none on an auditor's first visit, which names no municipality yet), or the problem page
    of a refusal."""
    errors = FormErrors()
    if values["municipality"] and not MUNICIPALITY.match(values["municipality"]):
        errors.add("municipality", N_("Enter the municipality's code, for example LOV18"))
        return None, errors
    report = await attempt(session, read)
    if not isinstance(report, Problem):
        return report, errors
    if report.status != 422:
        return await problem_page(request, report)
    errors = _period_errors(report)
    if not request.url.query and set(errors.fields) == {"municipality"}:
        errors = FormErrors()  # an auditor's first visit: the form, not an error yet
    return None, errors


@router.get("/reports")
async def report_page(
    request: Request,
    session: DbSession,
    person: SignedInPerson,
    today: Today,
    municipality: str = "",
    first: str = "",
    last: str = "",
) -> Response:
    values = _form_values(municipality, first, last)
    read = await _read_report(
        request, session, values,
        partial(_summary, session, person, today, values["municipality"], values["first"], values["last"], "html"),
    )
    if isinstance(read, Response):
        return read
    report, errors = read
    context: dict[str, Any] = {
        "person": await person_view(session, person),
        "values": values,
        "errors": errors,
        "report": report,
    }
    if report is not None:
        gettext = partial(renderer(request).gettext, request)
        type_labels = {k: gettext(v) for k, v in LABELS["alert_type"].items()}
        bars, height = chart_bars(report.alerts.by_type, type_labels)
        context |= {"bars": bars, "chart_height": height, "chart_width": CHART_WIDTH, "label_height": LABEL_HEIGHT,
                    "bar_height": BAR_HEIGHT, "csv_query": request.url.query}
    return renderer(request).page(request, "report.html", context, status=422 if errors else 200)


@router.get("/reports/summary.csv")
async def report_csv(
    request: Request,
    session: DbSession,
    person: SignedInPerson,
    today: Today,
    municipality: str = "",
    first: str = "",
    last: str = "",
) -> Response:
    values = _form_values(municipality, first, last)
    report = await _summary(session, person, today, values["municipality"], values["first"], values["last"], "csv")
    return Response(
        reports.summary_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="summary-{report.municipality}.csv"',
            "Cache-Control": "no-store",
        },
    )


async def _mechanism(
    session: Any, person: Any, today: Any, values: dict[str, str], fmt: str
) -> MechanismReport:
    """What the API's route does with its query: the period as whole months, then the report."""
    return await mechanism.mechanism(
        session, actor=person.principal, purpose=None, municipality=values["municipality"] or None,
        first_day=first_day_of(values["first"] or None), last_day=last_day_of(values["last"] or None), today=today,
        fmt=fmt,
    )


@router.get("/reports/mechanism")
async def mechanism_page(
    request: Request,
    session: DbSession,
    person: SignedInPerson,
    today: Today,
    municipality: str = "",
    first: str = "",
    last: str = "",
) -> Response:
    """The national enrolment mechanism's counts by municipality and settlement (the API's
    `GET /reports/mechanism`), with the settlements named as the EKATTE classifier names them."""
    values = _form_values(municipality, first, last)
    read = await _read_report(request, session, values, partial(_mechanism, session, person, today, values, "html"))
    if isinstance(read, Response):
        return read
    report, errors = read
    context: dict[str, Any] = {
        "person": await person_view(session, person),
        "values": values,
        "errors": errors,
        "report": report,
        "columns": MECHANISM_COLUMNS,
    }
    if report is not None:
        codes = [row.settlement_code for row in report.rows if row.settlement_code]
        context |= {"settlement_names": await settlements.names(session, codes), "csv_query": request.url.query}
    return renderer(request).page(request, "mechanism_report.html", context, status=422 if errors else 200)


@router.get("/reports/mechanism.csv")
async def mechanism_csv(
    request: Request,
    session: DbSession,
    person: SignedInPerson,
    today: Today,
    municipality: str = "",
    first: str = "",
    last: str = "",
) -> Response:
    report = await _mechanism(session, person, today, _form_values(municipality, first, last), "csv")
    return Response(
        mechanism.mechanism_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="mechanism.csv"', "Cache-Control": "no-store"},
    )
