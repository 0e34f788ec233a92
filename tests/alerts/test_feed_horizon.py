"""The inbox feed on PostgreSQL without a lock held to commit (service/alerts/feed.py).

A change's position comes from its transaction id, so a transaction that stamped first may
commit last, below a position a poller has already passed. The reader's commit-order horizon
keeps such a position from being passed: these tests hold one change open while another
commits, and show that the poller sees both — and that a reader without the horizon (a mutant
injected here only) misses the one that committed last, so the test can fail.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from service.alerts import feed
from service.alerts import repository as alerts_repository
from service.alerts.changes import AlertChange, record_change
from service.alerts.models import AlertRecipient
from service.audit.service import AuditRecord
from service.core.clock import utcnow
from service.core.database import Database
from service.delivery.events import EventType
from service.demo.loader import DEFAULT_DEMO_FILE, load_demo
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, pupil_id, raise_alert
from tests.conftest import OPERATOR, World, make_app

pytestmark = pytest.mark.postgres_only

#: polls, 0.1 s apart, while waiting for the cluster's older transactions to end
SETTLE_POLLS = 1200

Settled = Callable[[Any, Any], Any]
#: the reader's horizon, kept for the test's own waiting when a mutant replaces it in the service
_REAL_SETTLED = feed.settled


async def _all_settled(database: Database, settled: Settled) -> bool:
    async with database.transaction() as session:
        condition = settled(session, func.max(col(AlertRecipient.change_seq)))
        return condition is None or bool((await session.execute(select(condition))).scalar_one())


class Poller:
    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers
        self.cursor: str | None = None
        self.seen: list[tuple[str, int, int]] = []  # (alert id, version, change)

    async def poll(self) -> int:
        params: dict[str, Any] = {"limit": 50} | ({"after": self.cursor} if self.cursor else {})
        page = await self.client.get("/api/v1/inbox", params=params, headers=self.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        self.seen += [(i["alert"]["id"], i["alert"]["version"], i["change"]) for i in body["items"]]
        self.cursor = body["next"]
        return len(body["items"])

    async def drain(self, database: Database, settled: Settled) -> None:
        """Poll until every committed change may show and the last page is empty."""
        for _ in range(SETTLE_POLLS):
            ready = await _all_settled(database, settled)
            if await self.poll() == 0:
                if ready:
                    return
                await asyncio.sleep(0.1)
        raise AssertionError("the feed's horizon never passed the last change")


async def _stamped_first_committed_last(database: Database, settings: Any) -> tuple[Poller, str, str]:
    """Alert `first` changes in a transaction held open while alert `second` changes and commits,
    and the poller polls; then `first` commits and the poller drains. Returns the poller and
    both alert ids."""
    app = make_app(settings, database)
    await load_demo(settings=settings, database=database, path=DEFAULT_DEMO_FILE, actor=OPERATOR)
    world = World(app, database)
    teacher = await world.headers("school-koprinka.staff")
    cp = await world.headers("cp-kazanlak.cp")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as client:
        first = await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0]))
        second = await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[1]))
        poller = Poller(client, cp)
        await poller.drain(database, _REAL_SETTLED)

        async with database.transaction() as session:
            alert = await alerts_repository.get_alert(session, uuid.UUID(first["id"]), for_update=True)
            assert alert is not None
            (stamped_first,) = await record_change(
                session,
                [AlertChange(alert=alert, event=EventType.alert_updated, audit=[AuditRecord(
                    actor=OPERATOR, action="alert.update", decision="allow", reason="change held open",
                    resource_type="alert", resource_id=str(alert.id), child_id=alert.child_id,
                )])],
                now=utcnow(),
            )
            acknowledged = await act(client, cp, second["id"], "acknowledge")  # commits meanwhile
            assert acknowledged.status_code == 200, acknowledged.text
            await poller.poll()
        async with database.transaction() as session:
            committed_last = (await session.execute(
                select(func.max(col(AlertRecipient.change_seq))).where(
                    col(AlertRecipient.alert_id) == uuid.UUID(second["id"]))
            )).scalar_one()
        assert stamped_first < committed_last, "the transaction that stamped first has the lower position"
        await poller.drain(database, _REAL_SETTLED)
    return poller, first["id"], second["id"]


async def test_a_change_that_stamped_first_and_committed_last_is_not_missed(committed_database, settings):
    poller, first, second = await _stamped_first_committed_last(committed_database, settings)
    latest = {alert_id: version for alert_id, version, _ in poller.seen}
    assert latest[first] == 2, "the poller missed the change that committed last"
    assert latest[second] == 2
    changes = [change for _, _, change in poller.seen]
    assert changes == sorted(set(changes)), "a change was shown twice or out of order"


async def test_a_reader_without_the_horizon_misses_it(committed_database, settings, monkeypatch):
    """The mutant: the inbox reads without the commit-order horizon. The same scenario must then
    lose the change that committed last — else the test above could not fail."""
    monkeypatch.setattr(feed, "settled", lambda session, position: None)
    poller, first, second = await _stamped_first_committed_last(committed_database, settings)
    latest = {alert_id: version for alert_id, version, _ in poller.seen}
    assert latest[second] == 2
    assert latest[first] == 1, "without the horizon the change that committed last should be missed"


async def test_a_cursor_kept_from_the_counter_era_still_follows_the_feed(committed_database, settings):
    """A client that kept its `next` from before the switch (positions from the locked counter)
    polls after it: it gets the changes made since, whose positions are larger."""
    counter_era = Database(committed_database.engine, link_in_request=True)
    old_app = make_app(settings, counter_era)
    await load_demo(settings=settings, database=counter_era, path=DEFAULT_DEMO_FILE, actor=OPERATOR)
    old_world = World(old_app, counter_era)
    teacher = await old_world.headers("school-koprinka.staff")
    cp = await old_world.headers("cp-kazanlak.cp")
    transport = httpx.ASGITransport(app=old_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as old_client:
        before = await raise_alert(old_client, teacher, await pupil_id(old_client, teacher, KOPRINKA_PUPIL_PINS[0]))
        old_poller = Poller(old_client, cp)
        while await old_poller.poll():
            pass
    assert [alert_id for alert_id, _, _ in old_poller.seen] == [before["id"]]
    counter_position = old_poller.seen[-1][2]
    assert counter_position < 1 << feed.ORDINAL_BITS, "the counter era's positions are small"

    new_app = make_app(settings, committed_database)
    transport = httpx.ASGITransport(app=new_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as client:
        after = await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[1]))
        poller = Poller(client, cp)
        poller.cursor = old_poller.cursor
        await poller.drain(committed_database, _REAL_SETTLED)
    assert [alert_id for alert_id, _, _ in poller.seen] == [after["id"]]
    assert poller.seen[0][2] > counter_position
