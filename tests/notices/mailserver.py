"""A real SMTP server for the tests (aiosmtpd): the worker sends to it, the test reads what
arrived, parsed as a mail client would."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    to: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())

    @property
    def raw(self) -> str:
        return self.message.as_string()


@dataclass
class Inbox:
    port: int
    messages: list[Received] = field(default_factory=list)
    #: answers for the next messages, in order (e.g. "451 try later"); then "250 OK"
    answers: list[str] = field(default_factory=list)
    #: when set, a message waits for it to be set before it is answered (a server mid-DATA)
    gate: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.to]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.arrived.set()
        if self.gate is not None:
            import asyncio

            await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 10)
        if self.answers:
            return self.answers.pop(0)
        parsed = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Received(list(envelope.rcpt_tos), parsed))
        return "250 OK"


@contextmanager
def mail_server(port: int | None = None) -> Iterator[Inbox]:
    inbox = Inbox(port or free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
