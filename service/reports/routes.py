"""Municipal reports API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from service.access.dependencies import PurposeOfUse
from service.auth.dependencies import CurrentPrincipal
from service.core.clock import Today
from service.core.database import DbSession, api_router
from service.core.problems import Forbidden, Unauthenticated, ValidationProblem, problem_responses
from service.reports import mechanism, service
from service.reports.periods import MonthFrom, MonthTo, first_day_of, last_day_of
from service.reports.schemas import MechanismReport, SummaryReport

router = api_router(tags=["reports"])
_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problem_responses(Unauthenticated, Forbidden, ValidationProblem),
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "the report (JSON or CSV)"},
}


@router.get(
    "/reports/summary", response_model=SummaryReport, responses=_RESPONSES,
    summary="A municipality's alerts in whole months: counts (1 to 4 shown as <5), times to acknowledge, long-open",
)
async def summary(
    session: DbSession, principal: CurrentPrincipal, purpose: PurposeOfUse, today: Today,
    municipality: Annotated[
        str | None,
        Query(pattern=r"^[A-Z]{3}[0-9]{2}$",
              description="EKATTE code; default: the coordinator organisation's only municipality"),
    ] = None,
    first_month: MonthFrom = None,
    last_month: MonthTo = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",  # noqa: A002 - the contract's name
) -> Any:
    report = await service.summary(
        session, actor=principal, purpose=purpose, municipality=municipality,
        first_day=first_day_of(first_month), last_day=last_day_of(last_month), today=today, fmt=format,
    )
    if format == "csv":
        return Response(
            service.summary_csv(report), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="summary-{report.municipality}.csv"'},
        )
    return report


@router.get(
    "/reports/mechanism", response_model=MechanismReport, responses=_RESPONSES,
    summary="The national enrolment mechanism's counts by municipality and settlement, for whole months",
)
async def mechanism_report(
    session: DbSession, principal: CurrentPrincipal, purpose: PurposeOfUse, today: Today,
    municipality: Annotated[
        str | None,
        Query(pattern=r"^[A-Z]{3}[0-9]{2}$",
              description="EKATTE code; default: every municipality your organisation serves (an auditor names one)"),
    ] = None,
    first_month: MonthFrom = None,
    last_month: MonthTo = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",  # noqa: A002 - the contract's name
) -> Any:
    """Default period: the whole months since the last report day (30 April or 30 November)."""
    report = await mechanism.mechanism(
        session, actor=principal, purpose=purpose, municipality=municipality,
        first_day=first_day_of(first_month), last_day=last_day_of(last_month), today=today, fmt=format,
    )
    if format == "csv":
        return Response(
            mechanism.mechanism_csv(report), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="mechanism.csv"'},
        )
    return report
