"""Sending one e-mail over SMTP (`OBHVAT_SMTP_URL`): smtp:// (plain, or STARTTLS with
`OBHVAT_SMTP_STARTTLS`) or smtps:// (TLS from the start), with the user and password of the
URL when it has them. The standard library's client runs in a thread, off the event loop."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from service.core.settings import Settings
from service.delivery.mail_text import Rendered


class MailNotConfigured(Exception):
    """OBHVAT_SMTP_URL is not set: notices wait in the outbox."""


def message(settings: Settings, *, message_id: str, to: str, rendered: Rendered, language: str) -> EmailMessage:
    """A multipart/alternative message (plain text and HTML). `message_id` is the same on every
    retry, so a mail system can tell a repeated sending from a new notice."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = rendered.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = f"<{message_id}@obhvat>"
    msg["Content-Language"] = language
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


def _send(settings: Settings, msg: EmailMessage) -> None:
    if not settings.smtp_url:
        raise MailNotConfigured("OBHVAT_SMTP_URL is not set")
    url = urlsplit(settings.smtp_url)
    host = url.hostname or "localhost"
    timeout = settings.smtp_timeout_seconds
    client: smtplib.SMTP
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, url.port or 465, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, url.port or 25, timeout=timeout)
    with client:
        if url.scheme == "smtp" and settings.smtp_starttls:
            client.starttls(context=ssl.create_default_context())
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(msg)


async def send(settings: Settings, msg: EmailMessage) -> None:
    """Hand `msg` to the mail server; raises `smtplib.SMTPException` or `OSError` when it fails."""
    await asyncio.to_thread(_send, settings, msg)
