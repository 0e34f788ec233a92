"""Report periods are whole calendar months: no two accepted windows differ by a single day."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from service.core.problems import ValidationProblem
from service.reports.periods import first_day_of, last_day_of


def _accepted(parse, value: str) -> date | None:
    try:
        return parse(value)
    except ValidationProblem:
        return None


def _days(year: int) -> list[date]:
    return [date(year, 1, 1) + timedelta(days=n) for n in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]


@pytest.mark.parametrize("year", [2026, 2028])  # and a leap year
def test_no_two_report_windows_differ_by_one_day(year):
    starts = {_accepted(first_day_of, day.isoformat()) for day in _days(year)} - {None}
    ends = {_accepted(last_day_of, day.isoformat()) for day in _days(year)} - {None}

    assert sorted(starts) == [date(year, month, 1) for month in range(1, 13)]
    assert sorted(ends) == [date(year, month + 1, 1) - timedelta(days=1) for month in range(1, 12)] + [
        date(year, 12, 31)
    ]
    for bounds in (sorted(starts), sorted(ends)):
        assert all(later - earlier >= timedelta(days=28) for earlier, later in itertools.pairwise(bounds))


def test_a_month_means_its_first_day_as_from_and_its_last_day_as_to():
    assert first_day_of("2028-02") == date(2028, 2, 1)
    assert last_day_of("2028-02") == date(2028, 2, 29)
    assert last_day_of("2026-02-28") == date(2026, 2, 28)
    assert first_day_of(None) is None and last_day_of(None) is None


@pytest.mark.parametrize("value", ["0001-01", "9999-12", "0001-01-01", "9999-12-31", "1999-12", "3000-01", "2026-13"])
def test_a_month_outside_the_years_reports_cover_names_the_parameter(value):
    for parse, parameter in ((first_day_of, "from"), (last_day_of, "to")):
        with pytest.raises(ValidationProblem) as refused:
            parse(value)
        assert refused.value.errors == [{"parameter": parameter, "detail": "a month from 2000-01 to 2999-12"}]
