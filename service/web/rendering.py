"""Rendering pages: one Jinja2 environment per language (its catalogue installed), and the
headers every console page carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from babel.support import Translations
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from service.web.i18n import LANGUAGE_COOKIE, LANGUAGES, Formats, chosen_language, load_translations
from service.web.labels import FIELD_LABELS, LABELS
from service.web.messages import translated

TEMPLATES_DIR = Path(__file__).parent / "templates"

#: nothing from elsewhere: styles, scripts, images, forms and frames are the service's own
CONTENT_SECURITY_POLICY = "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # every page names people or shows what they may see: no browser or proxy keeps a copy
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _environment(language: str, translations: Translations) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    cast(Any, environment).install_gettext_translations(translations, newstyle=True)  # added by the extension
    formats = Formats(language)
    environment.filters["date"] = formats.date
    environment.filters["datetime"] = formats.datetime
    environment.filters["number"] = formats.number

    def label(value: object, group: str) -> str:
        text = LABELS.get(group, {}).get(str(value))
        return translations.gettext(text) if text else str(value)

    def field_label(name: str) -> str:
        return translations.gettext(FIELD_LABELS.get(name, name))

    def translate(message: object) -> str:
        """A message known only at run time (a form error, a menu entry): translated as plain
        text, escaped like any value. `_()` is for literal strings of the templates: it marks its
        result safe and applies `%` formatting, so a runtime message must never go through it.
        A validation message of pydantic or the domain is recognised (service/web/messages.py)."""
        return translated(str(message), translations.gettext)

    environment.filters["label"] = label
    environment.filters["t"] = translate
    environment.filters["field_label"] = field_label
    environment.globals["language"] = language
    environment.globals["languages"] = LANGUAGES
    return environment


class Renderer:
    """Built once at startup: the catalogues are read then, not per request."""

    def __init__(self) -> None:
        self.translations = {language: load_translations(language) for language in LANGUAGES}
        self.environments = {language: _environment(language, self.translations[language]) for language in LANGUAGES}

    def language_of(self, request: Request) -> str:
        return chosen_language(request.cookies.get(LANGUAGE_COOKIE))

    def gettext(self, request: Request, message: str) -> str:
        return self.translations[self.language_of(request)].gettext(message)

    def page(self, request: Request, template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
        language = self.language_of(request)
        html = self.environments[language].get_template(template).render(
            request=request, path=request.url.path, **context
        )
        headers = {**PAGE_HEADERS, "Content-Language": language}
        return HTMLResponse(html, status_code=status, headers=headers)


def renderer(request: Request) -> Renderer:
    found: Renderer = request.app.state.console
    return found
