"""Personal numbers (DESIGN §3): which ЕГН and ЛНЧ the service accepts, what it reads from them,
and a property test against a model of the rule written here from the specification text."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from service.children.pin import InvalidPin, validate_pin
from service.demo.loader import DEFAULT_DEMO_FILE
from tests.children.helpers import egn_check, egn_for, lnch_check, lnch_for, spaced

DEMO_CHILDREN = json.loads(DEFAULT_DEMO_FILE.read_text(encoding="utf-8"))["children"]


def _egn_with_bad_date(yy: int, mm: int, dd: int) -> str:
    """Ten digits whose check digit is right by the ЕГН formula but whose date is impossible,
    chosen so that they are not a valid ЛНЧ by coincidence either."""
    for serial in range(1000):
        first_nine = f"{yy:02d}{mm:02d}{dd:02d}{serial:03d}"
        if egn_check(first_nine) != lnch_check(first_nine):
            return first_nine + str(egn_check(first_nine))
    raise AssertionError("no serial found")


def _with_wrong_check_digit(pin: str) -> str:
    """The same number with a check digit that fits neither ЕГН nor ЛНЧ."""
    first_nine = pin[:9]
    wrong = next(d for d in range(10) if d not in (egn_check(first_nine), lnch_check(first_nine)))
    return first_nine + str(wrong)


def _rejected(pin: str) -> InvalidPin:
    with pytest.raises(InvalidPin) as caught:
        validate_pin(pin)
    digits = "".join(pin.split())
    if len(digits) >= 6:
        assert digits not in str(caught.value), "the error message must not repeat the number"
    return caught.value


# --- ЕГН --------------------------------------------------------------------------------------


@pytest.mark.parametrize("child", DEMO_CHILDREN, ids=lambda c: c["date_of_birth"])
def test_every_demo_pupil_pin_is_a_valid_egn_that_encodes_their_birth_date(child):
    facts = validate_pin(child["pin"])
    assert facts.kind == "egn"
    assert facts.normalised == child["pin"]
    assert facts.birth_date == date.fromisoformat(child["date_of_birth"])


def test_a_demo_pin_with_a_wrong_check_digit_is_refused():
    pin = DEMO_CHILDREN[0]["pin"]
    _rejected(_with_wrong_check_digit(pin))


@pytest.mark.parametrize("pin", [child["pin"] for child in DEMO_CHILDREN[:5]])
def test_changing_any_single_digit_of_a_valid_egn_is_noticed(pin):
    """The ЕГН weights catch a single-digit typo in the first nine digits. The only typos that
    slip through are those that happen to form a valid ЛНЧ, and those where "10 counts as 0"
    makes two different sums give the check digit 0."""
    for position in range(9):
        for replacement in "0123456789":
            if replacement == pin[position]:
                continue
            typo = pin[:position] + replacement + pin[position + 1 :]
            try:
                facts = validate_pin(typo)
            except InvalidPin:
                continue
            assert facts.kind == "lnch" or pin[9] == "0", typo


def test_month_13_is_not_a_date():
    error = _rejected(_egn_with_bad_date(10, 13, 5))
    assert "month" in str(error) or "date" in str(error)


@pytest.mark.parametrize(
    ("yy", "mm", "dd", "why"),
    [
        (12, 2, 30, "30 February"),
        (12, 4, 31, "31 April"),
        (12, 1, 0, "day 0"),
        (12, 1, 32, "day 32"),
        (0, 2, 29, "29 February 1900 (not a leap year)"),
        (12, 0, 10, "month 0"),
        (12, 20, 10, "month 20 (the 1800s start at 21)"),
        (12, 33, 10, "month 33 (13 in the 1800s)"),
        (12, 40, 10, "month 40 (the 2000s start at 41)"),
        (12, 53, 10, "month 53 (13 in the 2000s)"),
        (12, 60, 10, "month 60"),
        (12, 99, 10, "month 99"),
        (15, 42, 30, "30 February 2015"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_impossible_birth_dates_are_refused(yy, mm, dd, why):
    _rejected(_egn_with_bad_date(yy, mm, dd))


@pytest.mark.parametrize(
    ("born", "month_digits"),
    [
        (date(1899, 12, 31), "32"),
        (date(1800, 1, 1), "21"),
        (date(1900, 1, 1), "01"),
        (date(1975, 6, 15), "06"),
        (date(1999, 12, 31), "12"),
        (date(2000, 1, 1), "41"),
        (date(2000, 2, 29), "42"),  # 2000 was a leap year
        (date(2016, 10, 13), "50"),
        (date(2099, 12, 31), "52"),
    ],
)
def test_the_month_digits_carry_the_century(born, month_digits):
    pin = egn_for(born, serial=457)
    assert pin[2:4] == month_digits
    facts = validate_pin(pin)
    assert (facts.kind, facts.birth_date) == ("egn", born)


def test_same_digits_in_a_different_century_are_a_different_birth_date():
    """01 June: '06' is 1905, '26' is 1805, '46' is 2005."""
    born = {validate_pin(egn_for(date(century + 5, 6, 1), 300)).birth_date for century in (1800, 1900, 2000)}
    assert born == {date(1805, 6, 1), date(1905, 6, 1), date(2005, 6, 1)}


def test_a_check_sum_of_ten_gives_check_digit_zero():
    first_nine = "750615002"
    weighted = sum(int(d) * w for d, w in zip(first_nine, (2, 4, 8, 5, 10, 9, 7, 3, 6), strict=True))
    assert weighted % 11 == 10
    facts = validate_pin(first_nine + "0")
    assert (facts.kind, facts.birth_date) == ("egn", date(1975, 6, 15))
    # "10" cannot be written in one digit, and 1 is not the answer either
    _rejected(first_nine + "1")


# --- shape and normalisation ------------------------------------------------------------------


@pytest.mark.parametrize(
    "pin",
    [
        "",
        "          ",
        "174109684",  # 9 digits
        "17410968470",  # 11 digits
        "1741O96847",  # Latin capital O for zero
        "1741096847x",
        "174-109-6847",
        "+1741096847",
        "174109684.7",
        "17410968 47a",
    ],
)
def test_anything_but_ten_digits_is_refused(pin):
    _rejected(pin)


@pytest.mark.parametrize(
    "pin",
    [
        "1741О96847",  # Cyrillic capital О instead of 0
        "174109684З",  # Cyrillic capital З instead of 3 (check digit position)
        "17410968б7",  # Cyrillic small б, which resembles 6
        "１７４１０９６８４７",  # full-width digits
        "١٧٤١٠٩٦٨٤٧",  # Arabic-Indic digits
        "174109684²",  # superscript two: a Unicode "digit", not an ASCII one
    ],
)
def test_digit_lookalikes_and_non_ascii_digits_are_refused(pin):
    _rejected(pin)


@pytest.mark.parametrize(
    "written",
    [
        "17 41 09 684 7",
        " 1741096847 ",
        "1741\t096847",
        "1741096847\n",
        "17\u00a041\u00a009\u00a06847",  # no-break spaces, as pasted from a document
        "17 41 09  68  47",
    ],
)
def test_spaces_anywhere_are_normalised_away(written):
    facts = validate_pin(written)
    assert facts.normalised == "1741096847"
    assert (facts.kind, facts.birth_date) == ("egn", date(2017, 1, 9))


# --- ЛНЧ --------------------------------------------------------------------------------------


def test_a_valid_lnch_that_is_not_a_valid_egn_is_accepted_without_a_birth_date():
    pin = lnch_for("100513123")  # 1910-05-13 is a real date, but the ЕГН check digit would be 7
    assert pin == "1005131230"
    assert egn_check(pin[:9]) != int(pin[9])
    facts = validate_pin(pin)
    assert facts.kind == "lnch"
    assert facts.birth_date is None
    assert facts.normalised == pin


def test_a_valid_lnch_whose_digits_encode_no_date_is_accepted():
    pin = lnch_for("123456789")  # month 34 means nothing in an ЕГН
    facts = validate_pin(spaced(pin))
    assert (facts.kind, facts.normalised, facts.birth_date) == ("lnch", pin, None)


def test_a_number_valid_both_ways_is_read_as_an_egn():
    candidates = (f"1005131{serial:02d}" for serial in range(100))
    first_nine = next(n for n in candidates if egn_check(n) == lnch_check(n))
    facts = validate_pin(first_nine + str(egn_check(first_nine)))
    assert (facts.kind, facts.birth_date) == ("egn", date(1910, 5, 13))


def test_a_lnch_with_a_wrong_check_digit_is_refused():
    _rejected(_with_wrong_check_digit(lnch_for("123456789")))


# --- property test against a model of the specification ----------------------------------------

#: DESIGN §3, as written there: "10 digits, a real birth date (month +20 for 1800–1899, +40 for
#: 2000–2099) and the check digit (weights 2,4,8,5,10,9,7,3,6; sum mod 11; 10 counts as 0)".
#: An ЛНЧ: 10 digits, check digit = sum of weights 21,19,17,13,11,9,7,3,1, mod 10.
MODEL_EGN_WEIGHTS = [2, 4, 8, 5, 10, 9, 7, 3, 6]
MODEL_LNCH_WEIGHTS = [21, 19, 17, 13, 11, 9, 7, 3, 1]
ASCII_DIGITS = "0123456789"


def model_of_the_rule(text: str) -> tuple[str, str, date | None] | None:
    """(kind, normalised, birth date) of an accepted number, or None when refused."""
    digits = "".join(ch for ch in text if not ch.isspace())
    if len(digits) != 10 or any(ch not in ASCII_DIGITS for ch in digits):
        return None
    values = [ASCII_DIGITS.index(ch) for ch in digits]

    year, month, day = values[0] * 10 + values[1], values[2] * 10 + values[3], values[4] * 10 + values[5]
    birth: date | None = None
    for offset, century in ((0, 1900), (20, 1800), (40, 2000)):
        if offset + 1 <= month <= offset + 12:
            try:
                birth = date(century + year, month - offset, day)
            except ValueError:
                birth = None
            break
    total = 0
    for value, weight in zip(values[:9], MODEL_EGN_WEIGHTS, strict=True):
        total += value * weight
    expected = total % 11
    if expected == 10:
        expected = 0
    if birth is not None and expected == values[9]:
        return ("egn", digits, birth)

    total = 0
    for value, weight in zip(values[:9], MODEL_LNCH_WEIGHTS, strict=True):
        total += value * weight
    if total % 10 == values[9]:
        return ("lnch", digits, None)
    return None


def _service_answer(text: str) -> tuple[str, str, date | None] | None:
    try:
        facts = validate_pin(text)
    except InvalidPin:
        return None
    return (facts.kind, facts.normalised, facts.birth_date)


_valid_egns = st.builds(
    egn_for, st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)), st.integers(0, 999)
)


@st.composite
def _typo(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    pin = draw(base)
    position = draw(st.integers(0, 9))
    return pin[:position] + draw(st.sampled_from(ASCII_DIGITS)) + pin[position + 1 :]


@st.composite
def _with_whitespace(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    pin = draw(base)
    pieces = [draw(st.sampled_from(["", "", " ", "  ", "\t", "\u00a0", "\n"])) for _ in range(len(pin) + 1)]
    return "".join(p + c for p, c in zip(pieces, pin, strict=False)) + pieces[-1]


_ten_digits = st.text(alphabet=ASCII_DIGITS, min_size=10, max_size=10)
_candidates = st.one_of(
    _ten_digits,
    _valid_egns,
    _typo(_valid_egns),
    st.builds(lnch_for, st.text(alphabet=ASCII_DIGITS, min_size=9, max_size=9)),
    _with_whitespace(st.one_of(_valid_egns, _ten_digits)),
    st.text(alphabet=ASCII_DIGITS + " ОЗб١２x-", min_size=0, max_size=14),
)


@settings(max_examples=1500, deadline=None)
@given(_candidates)
@example("7506150020")
@example("0042290000")
@example("0002290000")
@example("9932310000")
def test_validate_pin_agrees_with_the_specification_model(text):
    assert _service_answer(text) == model_of_the_rule(text)
