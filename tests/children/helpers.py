"""Building valid personal numbers for tests, from the rules of DESIGN §3 (not from the service)."""

from __future__ import annotations

from datetime import date

EGN_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6)
LNCH_WEIGHTS = (21, 19, 17, 13, 11, 9, 7, 3, 1)


def egn_check(first_nine: str) -> int:
    remainder = sum(int(d) * w for d, w in zip(first_nine, EGN_WEIGHTS, strict=True)) % 11
    return 0 if remainder == 10 else remainder


def lnch_check(first_nine: str) -> int:
    return sum(int(d) * w for d, w in zip(first_nine, LNCH_WEIGHTS, strict=True)) % 10


def egn_for(born: date, serial: int = 123) -> str:
    """A valid ЕГН for a birth date (1800–2099) and a three-digit serial."""
    month = born.month + {18: 20, 19: 0, 20: 40}[born.year // 100]
    first_nine = f"{born.year % 100:02d}{month:02d}{born.day:02d}{serial:03d}"
    return first_nine + str(egn_check(first_nine))


def lnch_for(first_nine: str) -> str:
    return first_nine + str(lnch_check(first_nine))


def spaced(pin: str) -> str:
    """The PIN as a person might type it: groups separated by spaces."""
    return f" {pin[:2]} {pin[2:4]} {pin[4:6]} {pin[6:]} "
