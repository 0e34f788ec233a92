"""The console's languages: Bulgarian first, English selectable. Messages come from the gettext
catalogues under `locale/`, read at startup from their `.po` files (no build step); dates and
numbers are formatted by Babel for the chosen locale, times in Bulgaria's zone."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from service.core.clock import LOCAL_ZONE

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("bg", "en")
DEFAULT_LANGUAGE = "bg"
LANGUAGE_COOKIE = "obhvat_lang"


def load_translations(language: str) -> Translations:
    """The catalogue of one language, compiled in memory from its `.po` file."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def chosen_language(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE


class Formats:
    """Dates, times and numbers as people of one locale write them."""

    def __init__(self, language: str) -> None:
        self.language = language

    def date(self, value: date | None) -> str:
        return format_date(value, format="long", locale=self.language) if value else ""

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(value, format="medium", tzinfo=LOCAL_ZONE, locale=self.language)

    def number(self, value: int | float | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.language)
