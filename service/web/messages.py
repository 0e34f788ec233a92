"""Validation messages of the domain, as a teacher reads them.

A form's errors come from pydantic (the console's own validation, or a problem's `errors` from
the service) in English and often with values in them ("Input should be less than or equal to
300"). The `t` filter looks a message up in the catalogue as it is; when that finds nothing, the
common pydantic messages are recognised here, their values kept, and the catalogue's sentence
for that kind of message used instead ("Въведете число не по-голямо от 300"). A message of a
domain validator (`Value error, a field visit needs a result`) is looked up without pydantic's
prefix. Anything else is shown as it came."""

from __future__ import annotations

import re
from collections.abc import Callable

from service.web.labels import N_

#: (pydantic's message, the catalogue's sentence); `limit` is the value the message names
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"^Field required$", N_("Fill in this field")),
        (r"^Input should be a valid integer", N_("Enter a whole number")),
        (r"^Input should be a valid number", N_("Enter a number")),
        (r"^Input should be greater than or equal to (?P<limit>-?[\d.]+)$", N_("Enter a number of at least %(limit)s")),
        (r"^Input should be less than or equal to (?P<limit>-?[\d.]+)$", N_("Enter a number of at most %(limit)s")),
        (r"^Input should be greater than (?P<limit>-?[\d.]+)$", N_("Enter a number greater than %(limit)s")),
        (r"^Input should be less than (?P<limit>-?[\d.]+)$", N_("Enter a number less than %(limit)s")),
        (r"^String should have at most (?P<limit>\d+) characters?$", N_("Write at most %(limit)s characters")),
        (r"^String should have at least (?P<limit>\d+) characters?$", N_("Write at least %(limit)s characters")),
        (r"^String should match pattern ", N_("Write this in the form the field's name shows")),
        (r"^Input should be a valid date", N_("Enter a date that exists")),
        (r"^Input should be a valid datetime", N_("Enter a date and time that exist")),
        (r"^Date should be in the past$", N_("The date must be in the past")),
        (r"^Date should be in the future$", N_("The date must be in the future")),
        (r"^Input should be a valid UUID", N_("Choose one of the options")),
        (r"^Input should be '", N_("Choose one of the options")),
        (r"^Input should be a valid boolean", N_("Choose yes or no")),
        (r"^Input should be a valid string$", N_("Enter text")),
        (r"^Input should be a valid list$", N_("Choose from the list")),
        (r"^List should have at most (?P<limit>\d+) items?", N_("Choose at most %(limit)s")),
        (r"^List should have at least (?P<limit>\d+) items?", N_("Choose at least %(limit)s")),
        (r"^Extra inputs are not permitted$", N_("This field is not expected here")),
    )
)

#: the domain's own validators (their text is the message id)
DOMAIN_MESSAGES = (
    N_("a field visit needs a result"),
    N_("only a field visit has a result"),
    N_("a referral names its recipient_id"),
    N_("outcome 'other' needs a reason"),
    N_("a declined referral needs a reason"),
    N_("valid_until is before valid_from"),
    N_("the time found is in the future"),
)

VALUE_ERROR_PREFIX = "Value error, "


def translated(message: str, gettext: Callable[[str], str]) -> str:
    """The message in the catalogue's language (see the module's docstring)."""
    found = gettext(message)
    if found != message:
        return found
    if message.startswith(VALUE_ERROR_PREFIX):
        return translated(message.removeprefix(VALUE_ERROR_PREFIX), gettext)
    for pattern, sentence in _PATTERNS:
        match = pattern.match(message)
        if match is None:
            continue
        values = match.groupdict()
        text = gettext(sentence)
        return text % values if values else text
    return message
