"""The base of every request body: unknown fields are refused, and so is what no field needs
and no database can store: text with a NUL character (PostgreSQL refuses it) or a lone UTF-16
surrogate (not encodable as UTF-8), values nested deeper than any body of this API, and
object keys longer than any field name. Also the rule for a person's name."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, field_validator

#: deeper than any request body of the API nests (an absence row's field is at depth 2)
MAX_DEPTH = 16
MAX_KEY_LENGTH = 200
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "text must not contain a NUL character"
    if not text.isascii() and _SURROGATE.search(text):
        return "text must not contain a lone UTF-16 surrogate (it is not a character)"
    return None


def value_problem(value: Any) -> str | None:
    """What is wrong with a request value (walked without recursion, so deep nesting cannot
    exhaust the stack), or None."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if problem := _text_problem(item):
                return problem
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                return f"the value is nested too deeply (more than {MAX_DEPTH} levels)"
            if isinstance(item, dict):
                for key, inner in item.items():
                    if isinstance(key, str) and len(key) > MAX_KEY_LENGTH:
                        return f"an object key is longer than {MAX_KEY_LENGTH} characters"
                    pending.append((key, depth + 1))
                    pending.append((inner, depth + 1))
            else:
                pending.extend((inner, depth + 1) for inner in item)
    return None


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable_values_only(cls, value: Any) -> Any:
        if problem := value_problem(value):
            raise ValueError(problem)
        return value


_INVISIBLE = {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"}
#: the alphabets whose letters look alike (Latin a, Cyrillic а, Greek α)
_CONFUSABLE_ALPHABETS = {"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "COPTIC", "CHEROKEE"}


def _alphabet(letter: str) -> str | None:
    """LATIN, CYRILLIC, … (the first word of the letter's Unicode name) for the alphabets whose
    letters look alike; None for any other letter."""
    first = unicodedata.name(letter, "").split(" ", 1)[0]
    return first if first in _CONFUSABLE_ALPHABETS else None


def person_name_problem(name: str) -> str | None:
    """Why a person's name cannot be right, or None.

    Bulgarian names are written in Cyrillic and foreigners' in their own (often Latin)
    alphabet, but never one word in two alphabets: a Latin "a" inside a Cyrillic name is a
    look-alike typed by mistake (or on purpose), and the child would then not be found by
    name nor read alike by two agencies. Invisible characters (controls, zero-width and
    direction marks) have no place in a name either."""
    if any(unicodedata.category(ch) in _INVISIBLE for ch in name):
        return "a name must not contain control or invisible characters"
    word: set[str] = set()
    for ch in name + " ":
        category = unicodedata.category(ch)
        if category.startswith("L"):
            if alphabet := _alphabet(ch):
                word.add(alphabet)
        elif not category.startswith("M"):  # a combining accent belongs to its letter's word
            if len(word) > 1:
                alphabets = " and ".join(sorted(s.title() for s in word))
                return (
                    f"one word of the name mixes {alphabets} letters (look-alikes such as a Latin a "
                    "for a Cyrillic а); type each word in one alphabet"
                )
            word = set()
    return None


def _checked_person_name(name: str) -> str:
    if problem := person_name_problem(name):
        raise ValueError(problem)
    return name


#: `Annotated[str, ..., PersonNameRule]` on a field holding a person's name
PersonNameRule = AfterValidator(_checked_person_name)


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside the calendar (years 1 to 9999 in UTC)") from None


#: a point in time given with its zone (`Z` or `+02:00`): a time without one would be read in
#: whatever zone the database session has; normalised to UTC
Timestamp = Annotated[AwareDatetime, AfterValidator(_in_utc)]
