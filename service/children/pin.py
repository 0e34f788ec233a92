"""Bulgarian personal numbers: ЕГН (citizens) and ЛНЧ (foreigners).

The number itself is never stored or logged: it is validated, normalised and reduced to a keyed
HMAC (`pin_hash`) that lets the service match a child without being able to recover the number.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

EGN_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6)
LNCH_WEIGHTS = (21, 19, 17, 13, 11, 9, 7, 3, 1)


class InvalidPin(ValueError):
    """The number is not a valid ЕГН or ЛНЧ; the message says why (without repeating it)."""


@dataclass(frozen=True, slots=True)
class PinFacts:
    kind: str  # "egn" or "lnch"
    normalised: str
    birth_date: date | None


def normalise(pin: str) -> str:
    return "".join(pin.split())


def egn_birth_date(digits: str) -> date:
    """Birth date encoded in an ЕГН: month +20 for 1800–1899, +40 for 2000–2099."""
    year, month, day = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    if 1 <= month <= 12:
        century = 1900
    elif 21 <= month <= 32:
        century, month = 1800, month - 20
    elif 41 <= month <= 52:
        century, month = 2000, month - 40
    else:
        raise InvalidPin("month digits do not encode a month")
    try:
        return date(century + year, month, day)
    except ValueError:
        raise InvalidPin("digits do not encode a real birth date") from None


def egn_check_digit(digits: str) -> int:
    remainder = sum(int(d) * w for d, w in zip(digits[:9], EGN_WEIGHTS, strict=True)) % 11
    return 0 if remainder == 10 else remainder


def lnch_check_digit(digits: str) -> int:
    return sum(int(d) * w for d, w in zip(digits[:9], LNCH_WEIGHTS, strict=True)) % 10


def validate_pin(pin: str) -> PinFacts:
    """An ЕГН when its date and check digit hold; otherwise an ЛНЧ when its check digit holds."""
    digits = normalise(pin)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        raise InvalidPin("a personal number is 10 digits")
    egn_error: InvalidPin | None = None
    try:
        birth = egn_birth_date(digits)
        if egn_check_digit(digits) == int(digits[9]):
            return PinFacts("egn", digits, birth)
        egn_error = InvalidPin("check digit does not match")
    except InvalidPin as exc:
        egn_error = exc
    if lnch_check_digit(digits) == int(digits[9]):
        return PinFacts("lnch", digits, None)
    raise egn_error


def pin_hash(secret: bytes, normalised: str) -> str:
    return hmac.new(secret, normalised.encode("ascii"), hashlib.sha256).hexdigest()
