"""E-mail notices through the outbox: `notify` writes one row per person in the transaction of
the change it reports; `obhvat worker` sends them (service/delivery/worker.py).

`notify` is the one function to call to tell people something by e-mail, e.g. a department that
someone asked whether a child is known to child protection::

    await mail.notify(session, event=NoticeEvent.known_to_cp, payload={"child_id": str(child.id)},
                      organisations=[department_id])

The payload carries ids, the alert's type and severity only — never a name, PIN, note or
address — and at most one notice goes to a person per event (a unique row per event and person).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.clock import LOCAL_ZONE, utcnow
from service.delivery.models import OutboxMail
from service.notices.events import NoticeEvent
from service.notices.repository import addressees

log = structlog.get_logger("service.mail")

SKIPPED_NO_ADDRESS = Counter(
    "obhvat_mail_skipped_no_address",
    "People who would have been told by e-mail but gave no address, by notice",
    ["notice"],
)

#: the keys a notice's payload may hold; anything else is dropped before it is stored
PAYLOAD_KEYS = ("alert_id", "child_id", "alert_type", "severity", "status")

@dataclass(frozen=True, slots=True)
class Queued:
    queued: int
    #: people who would have been told but gave no e-mail address
    skipped_no_address: int


def next_digest_time(hour: int, now: datetime) -> datetime:
    """The next `hour`:00 local time after `now`."""
    local = now.astimezone(LOCAL_ZONE)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return at.astimezone(now.tzinfo)


async def notify(
    session: AsyncSession,
    *,
    event: NoticeEvent,
    payload: dict[str, Any],
    organisations: Iterable[uuid.UUID] = (),
    people: Iterable[uuid.UUID] = (),
    exclude: Iterable[uuid.UUID] = (),
) -> Queued:
    """Queue an e-mail notice of `event` to the users of `organisations` and to `people` who
    want it (service/notices), each once; `exclude` (e.g. whoever made the change) is left out."""
    skip = set(exclude)
    people_ids = [p for p in dict.fromkeys(people) if p not in skip]
    found = [a for a in await addressees(session, event, organisations=organisations, people=people_ids)
             if a.user_id not in skip]
    if not found:
        return Queued(0, 0)
    now = utcnow()
    event_id = uuid.uuid4()
    stored = {key: payload[key] for key in PAYLOAD_KEYS if payload.get(key) is not None}
    urgent = stored.get("severity") == "urgent"
    rows = []
    for person in found:
        if not person.email:
            continue
        digest = person.digest_hour is not None and not urgent
        rows.append(
            {
                "id": uuid.uuid4(),
                "event_id": event_id,
                "event_type": event.value,
                "user_id": person.user_id,
                "address": person.email,
                "language": person.language,
                "payload": stored,
                "digest": digest,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": next_digest_time(person.digest_hour, now)
                if digest and person.digest_hour is not None
                else now,
                "created_at": now,
            }
        )
    if rows:
        await session.execute(insert(OutboxMail), rows)
    skipped = len(found) - len(rows)
    if skipped:
        SKIPPED_NO_ADDRESS.labels(notice=event.value).inc(skipped)
        log.info("mail_skipped_no_address", notice=event.value, skipped=skipped)
    return Queued(len(rows), skipped)
