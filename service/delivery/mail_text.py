"""The words of e-mail notices, in Bulgarian and English. A notice says what happened, the
alert's type and severity, and links into the console; it never carries a child's name, PIN,
address or any note (it holds no child data to carry: see `service/delivery/mail.py`)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

ALERT_TYPES: dict[str, dict[str, str]] = {
    "bg": {
        "unexcused_absences": "Неизвинени отсъствия",
        "dropout_risk": "Риск от отпадане",
        "not_enrolled": "Необхванат",
        "left_education": "Напуснал образованието",
        "whereabouts_unknown": "Неизвестно местонахождение",
        "abuse_or_neglect_suspected": "Съмнение за насилие или занемаряване",
        "support_needed": "Нужда от подкрепа",
        "found_out_of_school": "Открит извън училище",
    },
    "en": {
        "unexcused_absences": "Unexcused absences",
        "dropout_risk": "Risk of dropping out",
        "not_enrolled": "Not enrolled",
        "left_education": "Left education",
        "whereabouts_unknown": "Whereabouts unknown",
        "abuse_or_neglect_suspected": "Suspected abuse or neglect",
        "support_needed": "Support needed",
        "found_out_of_school": "Found out of school",
    },
}
BRAND = {"bg": "[Обхват]", "en": "[Obhvat]"}
SEVERITIES: dict[str, dict[str, str]] = {
    "bg": {"info": "информация", "concern": "безпокойство", "urgent": "спешно"},
    "en": {"info": "information", "concern": "concern", "urgent": "urgent"},
}
#: what happened, per notice event
HEADLINES: dict[str, dict[str, str]] = {
    "bg": {
        "alert_routed": "Нов сигнал до вашата организация",
        "alert_assigned": "Сигнал е възложен на вас",
        "alert_overdue": "Срокът за потвърждаване на сигнал изтече",
        "alert_closed": "Ваш сигнал е приключен",
        "break_glass": "Спешен достъп до данни на дете от вашия район",
        "known_to_cp": "Запитване дали дете е известно на закрилата на детето",
    },
    "en": {
        "alert_routed": "A new alert for your organisation",
        "alert_assigned": "An alert was assigned to you",
        "alert_overdue": "An alert's acknowledgement deadline has passed",
        "alert_closed": "An alert you raised was closed",
        "break_glass": "Emergency access to a child of your area",
        "known_to_cp": "A question whether a child is known to child protection",
    },
}
WORDS: dict[str, dict[str, str]] = {
    "bg": {
        "type": "Вид",
        "severity": "Степен",
        "open": "Отворете в Обхват",
        "footer": "Това писмо не съдържа данни за детето. Вижте ги в Обхват след вход.",
        "digest": "Известия за деня",
        "urgent": "СПЕШНО",
    },
    "en": {
        "type": "Type",
        "severity": "Severity",
        "open": "Open in Obhvat",
        "footer": "This e-mail holds no data about the child. Sign in to Obhvat to see them.",
        "digest": "Today's notices",
        "urgent": "URGENT",
    },
}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def link(public_url: str, payload: dict[str, Any]) -> str:
    """The console page of the notice: the alert, or the child (a break-glass read)."""
    if payload.get("alert_id"):
        return f"{public_url}/alerts/{payload['alert_id']}"
    if payload.get("child_id"):
        return f"{public_url}/children/{payload['child_id']}"
    return f"{public_url}/inbox"


def _lines(language: str, event: str, payload: dict[str, Any], public_url: str) -> tuple[str, list[str], str]:
    lang = language if language in HEADLINES else "bg"
    headline = HEADLINES[lang].get(event, event)
    lines = []
    if payload.get("alert_type"):
        alert_type = str(payload["alert_type"])
        lines.append(f"{WORDS[lang]['type']}: {ALERT_TYPES[lang].get(alert_type, alert_type)}")
    if payload.get("severity"):
        severity = str(payload["severity"])
        lines.append(f"{WORDS[lang]['severity']}: {SEVERITIES[lang].get(severity, severity)}")
    return headline, lines, link(public_url, payload)


def subject_of(language: str, event: str, payload: dict[str, Any]) -> str:
    lang = language if language in HEADLINES else "bg"
    headline = HEADLINES[lang].get(event, event)
    if payload.get("severity") == "urgent":
        return f"{BRAND[lang]} {WORDS[lang]['urgent']}: {headline}"
    return f"{BRAND[lang]} {headline}"


def render(language: str, items: Sequence[tuple[str, dict[str, Any]]], public_url: str) -> Rendered:
    """One notice, or a digest of several (`items`: event and payload each), as plain text
    and HTML."""
    lang = language if language in WORDS else "bg"
    words = WORDS[lang]
    blocks = [_lines(lang, event, payload, public_url) for event, payload in items]
    if len(items) == 1:
        subject = subject_of(lang, *items[0])
    else:
        subject = f"{BRAND[lang]} {words['digest']} ({len(items)})"
    text_parts = []
    html_parts = []
    for headline, lines, url in blocks:
        text_parts.append("\n".join([headline, *lines, f"{words['open']}: {url}"]))
        html_parts.append(
            f"<h2>{html.escape(headline)}</h2>"
            + "".join(f"<p>{html.escape(line)}</p>" for line in lines)
            + f'<p><a href="{html.escape(url, quote=True)}">{html.escape(words["open"])}</a></p>'
        )
    text = "\n\n".join(text_parts) + f"\n\n--\n{words['footer']}\n"
    body = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head><body>"
        + "<hr>".join(html_parts)
        + f"<hr><p>{html.escape(words['footer'])}</p></body></html>"
    )
    return Rendered(subject, text, body)
