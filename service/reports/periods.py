"""Report periods are whole calendar months.

A report window that could start or end on any day would let a reader difference two windows a
day apart and single out the one alert raised (or closed) that day, however small counts are
hidden. So `from` and `to` name months: `YYYY-MM`, or for clients that send dates, the first day
of a month (`from`) or the last day of one (`to`).
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Annotated

from fastapi import Query

from service.core.problems import ValidationProblem

FIRST_YEAR = 2000
LAST_YEAR = 2999
_MONTH = re.compile(r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2}))?$")

MonthFrom = Annotated[
    str | None,
    Query(
        alias="from", max_length=10,
        description="first month covered: `YYYY-MM`, or the first day of a month (`YYYY-MM-01`)",
        examples=["2026-09"],
    ),
]
MonthTo = Annotated[
    str | None,
    Query(
        alias="to", max_length=10,
        description="last month covered: `YYYY-MM`, or the last day of a month (`YYYY-MM-30`)",
        examples=["2026-11"],
    ),
]


def _refused(parameter: str, detail: str) -> ValidationProblem:
    return ValidationProblem(f"`{parameter}`: {detail}", errors=[{"parameter": parameter, "detail": detail}])


def _month(value: str, parameter: str) -> tuple[int, int, int | None]:
    found = _MONTH.match(value)
    if found is None:
        raise _refused(parameter, "a month as YYYY-MM (reports cover whole calendar months)")
    year, month = int(found["year"]), int(found["month"])
    if not FIRST_YEAR <= year <= LAST_YEAR or not 1 <= month <= 12:
        raise _refused(parameter, f"a month from {FIRST_YEAR}-01 to {LAST_YEAR}-12")
    return year, month, int(found["day"]) if found["day"] else None


def first_day_of(value: str | None, *, parameter: str = "from") -> date | None:
    """The first day of the month `value` names; a day other than the 1st is a 422."""
    if value is None:
        return None
    year, month, day = _month(value, parameter)
    if day is not None and day != 1:
        raise _refused(parameter, "reports cover whole calendar months: give YYYY-MM or the first day of a month")
    return date(year, month, 1)


def last_day_of(value: str | None, *, parameter: str = "to") -> date | None:
    """The last day of the month `value` names; a day other than the month's last is a 422."""
    if value is None:
        return None
    year, month, day = _month(value, parameter)
    last = calendar.monthrange(year, month)[1]
    if day is not None and day != last:
        raise _refused(parameter, "reports cover whole calendar months: give YYYY-MM or the last day of a month")
    return date(year, month, last)


#: the days by which the national enrolment mechanism reports (30 April and 30 November)
MECHANISM_REPORT_DAYS = ((4, 30), (11, 30))


def mechanism_period(today: date) -> tuple[date, date]:
    """The default period of the mechanism report: the whole months since the last report day
    before `today`, to the end of the current month."""
    candidates = [
        date(year, month, day) for year in (today.year - 1, today.year) for month, day in MECHANISM_REPORT_DAYS
    ]
    last_report = max(d for d in candidates if d < today)
    following = last_report.year * 12 + last_report.month  # the next month, counted from month 0
    first = date(following // 12, following % 12 + 1, 1)
    return first, date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
