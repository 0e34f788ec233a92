"""`obhvat worker`: delivers the outbox to webhooks and by e-mail, and runs the chores it is
given between batches (the alerts' deadline sweep, every OBHVAT_DEADLINE_CHECK_SECONDS).

Delivery is at least once and in order per webhook and alert. A worker claims due deliveries
under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers share the outbox and
never send the same delivery at the same time), sends them outside any transaction, then records
the outcome: delivered, retried later with exponential backoff and jitter, or dead-lettered
after the last attempt. A worker that dies mid-batch leaves its leases to expire; the deliveries
are claimed again. SIGTERM stops the claiming; the batch in hand is finished and recorded.

E-mail notices (`outbox_mail`) are claimed the same way, sent over SMTP one message at a time,
and each recorded as sent in its own transaction the moment the server accepts it, so a worker
killed mid-batch sends again only the one message it was handing over, if any. A person's
digest notices due at their hour go out as one message. Without `OBHVAT_SMTP_URL` they wait.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import random
import signal
import smtplib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import structlog
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import col

from service.audit import sequencer
from service.core.clock import utcnow
from service.core.database import Database
from service.core.secretbox import SecretUnreadable
from service.core.settings import Settings
from service.delivery import smtp
from service.delivery.mail_text import render
from service.delivery.models import DeliveryAttempt, OutboxDelivery, OutboxMail, Webhook
from service.delivery.secrets import unseal, webhook_secret_box
from service.delivery.urls import PerHostTransport, UnsafeURL, checked_target

log = structlog.get_logger("service.worker")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: v1,base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(signed).decode()


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID
    attempts: int
    url: str
    #: None when the stored secret does not open (OBHVAT_WEBHOOK_SECRET_KEY changed): not sent
    secret: str | None
    payload: dict[str, object]


@dataclass(frozen=True, slots=True)
class Outcome:
    claimed: Claimed
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Worker:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        client: httpx.AsyncClient | None = None,
        chore: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.client = client
        #: run every `deadline_check_seconds` between batches (the deadline sweep)
        self.chore = chore
        self.secrets = webhook_secret_box(settings)
        self.stopping = asyncio.Event()
        self._last_deadline_check = 0.0

    async def claim(self) -> list[Claimed]:
        """Due deliveries whose predecessors (same webhook and alert) are all settled."""
        now = utcnow()
        earlier = aliased(OutboxDelivery)
        due = or_(
            and_(col(OutboxDelivery.status) == "pending", col(OutboxDelivery.next_attempt_at) <= now),
            and_(col(OutboxDelivery.status) == "in_flight", col(OutboxDelivery.lease_until) < now),
        )
        blocked = exists().where(
            col(earlier.webhook_id) == col(OutboxDelivery.webhook_id),
            col(earlier.ordering_key) == col(OutboxDelivery.ordering_key),
            col(earlier.seq) < col(OutboxDelivery.seq),
            col(earlier.status).in_(("pending", "in_flight")),
        )
        async with self.database.transaction() as session:
            rows = (
                (
                    await session.execute(
                        select(OutboxDelivery)
                        .where(due, ~blocked)
                        .order_by(col(OutboxDelivery.seq), col(OutboxDelivery.id))
                        .limit(self.settings.worker_batch_size)
                        .with_for_update(skip_locked=True, of=OutboxDelivery)
                    )
                )
                .scalars()
                .all()
            )
            if not rows:
                return []
            hooks = {
                h.id: h
                for h in (
                    await session.execute(
                        select(Webhook).where(col(Webhook.id).in_({r.webhook_id for r in rows}))
                    )
                ).scalars()
            }
            lease = now + timedelta(seconds=self.settings.worker_lease_seconds)
            claimed = []
            for row in rows:
                row.status, row.lease_until, row.attempts = "in_flight", lease, row.attempts + 1
                hook = hooks[row.webhook_id]
                try:
                    secret: str | None = unseal(self.secrets, hook.id, hook.secret)
                except SecretUnreadable:
                    secret = None
                claimed.append(Claimed(row.id, hook.id, row.event_id, row.attempts, hook.url, secret, row.payload))
        return claimed

    async def send(self, item: Claimed) -> Outcome:
        started = time.perf_counter()
        if item.secret is None:
            return Outcome(item, None, "signing secret unreadable: was OBHVAT_WEBHOOK_SECRET_KEY changed?", 0)
        body = json.dumps(item.payload, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = int(time.time())
        # webhook-id names the message to this endpoint (the same on every retry, so a receiver
        # can deduplicate); the event's own id is in the payload.
        headers = {
            "content-type": "application/json",
            "webhook-id": str(item.delivery_id),
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(item.secret, str(item.delivery_id), timestamp, body),
        }
        try:
            # one lookup, every address checked, and the connection made to the checked address
            target = await checked_target(item.url, allow_insecure=self.settings.webhooks_allow_insecure)
            assert self.client is not None  # noqa: S101 - set by run()
            response = await self.client.post(
                target.url,
                content=body,
                headers={**headers, "host": target.host_header},
                extensions={"sni_hostname": target.tls_name} if target.tls_name else {},
            )
            status, error = response.status_code, None if response.is_success else f"HTTP {response.status_code}"
        except UnsafeURL as exc:
            status, error = None, f"refused: {exc}"
        except httpx.HTTPError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"[:500]
        return Outcome(item, status, error, int((time.perf_counter() - started) * 1000))

    def backoff(self, attempts: int) -> timedelta:
        base = self.settings.webhook_backoff_seconds * 2 ** (attempts - 1)
        capped = min(base, 6 * 3600)
        return timedelta(seconds=capped * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not a secret

    async def record(self, outcomes: list[Outcome]) -> None:
        now = utcnow()
        async with self.database.transaction() as session:
            for outcome in outcomes:
                item = outcome.claimed
                session.add(
                    DeliveryAttempt(
                        delivery_id=item.delivery_id,
                        webhook_id=item.webhook_id,
                        attempted_at=now,
                        status_code=outcome.status_code,
                        error=outcome.error,
                        duration_ms=outcome.duration_ms,
                    )
                )
                if outcome.delivered:
                    values: dict[str, object] = {"status": "delivered", "delivered_at": now, "lease_until": None}
                elif item.attempts >= self.settings.webhook_max_attempts:
                    values = {"status": "dead", "lease_until": None}
                else:
                    values = {
                        "status": "pending",
                        "lease_until": None,
                        "next_attempt_at": now + self.backoff(item.attempts),
                    }
                settle = update(OutboxDelivery).where(col(OutboxDelivery.id) == item.delivery_id)
                if not outcome.delivered:
                    # cancelled while in flight (the webhook was removed): never retried
                    settle = settle.where(col(OutboxDelivery.status) != "cancelled")
                await session.execute(settle.values(**values))
                log.info(
                    "webhook_delivery",
                    delivery_id=str(item.delivery_id),
                    webhook_id=str(item.webhook_id),
                    attempt=item.attempts,
                    status_code=outcome.status_code,
                    outcome=values["status"],
                )

    async def deliver_once(self) -> int:
        """Claim, send and record one batch; returns how many were attempted."""
        claimed = await self.claim()
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self.send(item) for item in claimed))
        await self.record(list(outcomes))
        return len(claimed)

    async def claim_mail(self) -> list[OutboxMail]:
        """Due e-mail notices, leased to this worker (SKIP LOCKED: never two workers at once)."""
        now = utcnow()
        due = or_(
            and_(col(OutboxMail.status) == "pending", col(OutboxMail.next_attempt_at) <= now),
            and_(col(OutboxMail.status) == "in_flight", col(OutboxMail.lease_until) < now),
        )
        async with self.database.transaction() as session:
            rows = list(
                (
                    await session.execute(
                        select(OutboxMail)
                        .where(due)
                        .order_by(col(OutboxMail.next_attempt_at), col(OutboxMail.id))
                        .limit(self.settings.worker_batch_size)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            lease = now + timedelta(seconds=self.settings.worker_lease_seconds)
            for row in rows:
                row.status, row.lease_until, row.attempts = "in_flight", lease, row.attempts + 1
            await session.flush()
            for row in rows:
                session.expunge(row)
        return rows

    async def send_mail_once(self) -> int:
        """Send one batch of due e-mail notices (a person's digest items as one message);
        returns how many notices were attempted."""
        if not self.settings.smtp_url:
            return 0
        rows = await self.claim_mail()
        messages: dict[tuple[uuid.UUID, uuid.UUID], list[OutboxMail]] = {}
        for row in rows:
            # a digest gathers the person's due digest notices; any other notice goes alone
            key = (row.user_id, uuid.UUID(int=0)) if row.digest else (row.user_id, row.id)
            messages.setdefault(key, []).append(row)
        for group in messages.values():
            await self._send_mail(group)
        return len(rows)

    async def _send_mail(self, group: list[OutboxMail]) -> None:
        first = group[0]
        rendered = render(
            first.language,
            [(row.event_type, row.payload) for row in group],
            self.settings.effective_public_url,
        )
        msg = smtp.message(
            self.settings, message_id=str(first.id), to=first.address, rendered=rendered, language=first.language
        )
        error = None
        try:
            await smtp.send(self.settings, msg)
        except (smtplib.SMTPException, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        now = utcnow()
        async with self.database.transaction() as session:
            for row in group:
                if error is None:
                    values: dict[str, object] = {"status": "sent", "sent_at": now, "lease_until": None}
                elif row.attempts >= self.settings.mail_max_attempts:
                    values = {"status": "dead", "lease_until": None, "last_error": error}
                else:
                    values = {
                        "status": "pending",
                        "lease_until": None,
                        "last_error": error,
                        "next_attempt_at": now + self._mail_backoff(row.attempts),
                    }
                await session.execute(update(OutboxMail).where(col(OutboxMail.id) == row.id).values(**values))
        log.info(
            "mail_notice",
            mail_ids=[str(row.id) for row in group],
            attempt=first.attempts,
            outcome="sent" if error is None else "failed",
            error=error,
        )

    def _mail_backoff(self, attempts: int) -> timedelta:
        base = self.settings.mail_backoff_seconds * 2 ** (attempts - 1)
        return timedelta(seconds=min(base, 6 * 3600) * (0.5 + random.random() / 2))  # noqa: S311 - jitter

    async def run(self, *, once: bool = False) -> None:
        """Deliver until stopped (or, with `once`, until nothing is due)."""
        async with httpx.AsyncClient(
            transport=PerHostTransport(),
            timeout=self.settings.webhook_timeout_seconds,
            follow_redirects=False,
            trust_env=False,  # a proxy would look the name up again
        ) as client:
            self.client = client
            while not self.stopping.is_set():
                due = time.monotonic() - self._last_deadline_check >= self.settings.deadline_check_seconds
                if self.chore is not None and due:
                    await self.chore()
                    self._last_deadline_check = time.monotonic()
                sent = await self.deliver_once()
                sent += await self.send_mail_once()
                if once and sent == 0:
                    return
                if sent == 0:
                    try:
                        await asyncio.wait_for(self.stopping.wait(), timeout=self.settings.worker_poll_seconds)
                    except TimeoutError:
                        pass


async def run_worker(
    settings: Settings, database: Database, *, once: bool = False, chore: Callable[[], Awaitable[object]] | None = None
) -> None:
    worker = Worker(settings, database, chore=chore)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.stopping.set)
    log.info("worker_started", once=once)
    linker = None if database.link_in_request or once else asyncio.create_task(
        sequencer.run(database, interval=settings.audit_link_seconds)
    )
    try:
        await worker.run(once=once)
    finally:
        if linker is not None:
            linker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await linker
    if once and not database.link_in_request:
        await sequencer.link_committed(database)
    log.info("worker_stopped")
