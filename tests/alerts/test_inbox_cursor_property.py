"""The inbox feed's cursor as a property: whatever interleaving of writes and polls hypothesis
chooses, a poller that follows `next` never misses a change and never sees one twice.

Schools of Kazanlak raise alerts of three types, each routed to two of Kazanlak's child
protection, municipality and police; those recipients acknowledge, record actions and close;
and each of the three polls its inbox now and then with a random page size. A model of the feed
says what every poll must answer: the alerts routed to the poller whose latest change comes
after the cursor, oldest change first, at most `limit` of them, each at its latest version. The
feed shows an alert's latest state, so an alert changed twice between two polls is seen once, at
its second change; nothing else may be missing. After a final drain, every poller has seen every
alert routed to it at its final version, and each change it saw exactly once, in feed order.

test_inbox_feed.py checks the same under concurrent writers; this one checks it under many
orders of events. Each example runs in a savepoint rolled back at its end, so each starts from
the demo data alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.core.database import Database
from tests.alerts.helpers import pupil_id
from tests.conftest import rolled_back_connection

#: Kazanlak's schools and one pupil of each
SCHOOLS = {
    "school-koprinka": "1152035081",
    "school-gorno-cherkovishte": "1247183719",
    "school-kazanlak": "1552049639",
}
#: the recipients, each polling its own inbox
RECIPIENTS = {
    "cp-kazanlak": "cp-kazanlak.cp",
    "mun-kazanlak": "mun-kazanlak.municipal",
    "police-kazanlak": "police-kazanlak.police",
}
#: alert types routed to different pairs of the recipients, with valid details
ALERT_DETAILS = {
    "unexcused_absences": {"month": "2026-10", "unexcused_hours": 12},  # child protection, municipality
    "whereabouts_unknown": {"field_visit_result": "not_found"},  # police, municipality
    "abuse_or_neglect_suspected": {"immediate_danger": False},  # child protection, police
}
ACTIONS = [
    {"kind": "note", "text": "Разговор с класния ръководител."},
    {"kind": "contact_family", "text": "Обаждане на майката."},
    {"kind": "field_visit", "result": "not_found"},
]
OUTCOMES = [{"outcome": "returned_to_school"}, {"outcome": "unfounded"}]
#: weighted: more writes than polls, so polls find several changes waiting
STEPS = ["raise"] * 3 + ["acknowledge"] * 2 + ["act"] * 2 + ["close"] + ["poll"] * 3


@dataclass
class Feed:
    """Who acts, as which bearer headers, and the demo ids they need."""

    headers: dict[str, dict[str, str]]
    pupils: dict[str, str]
    codes: dict[str, str]  # organisation id -> code


@dataclass
class TrackedAlert:
    id: str
    recipients: dict[str, bool]  # organisation code -> lead
    version: int
    acknowledged: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    closed: bool = False


@dataclass
class Poller:
    code: str
    cursor: str | None = None
    consumed: int = 0  # how many entries of the poller's change log its cursor has passed
    last_change: int = 0  # the feed position of the last item it saw
    seen: list[tuple[str, int]] = field(default_factory=list)  # (alert id, version), in order seen


@dataclass
class Model:
    alerts: list[TrackedAlert] = field(default_factory=list)
    #: per recipient, every change made to an alert routed to it, in the order made
    log: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: {code: [] for code in RECIPIENTS})

    def changed(self, alert: TrackedAlert, answer: dict[str, Any]) -> None:
        assert answer["version"] == alert.version + 1, "each change is one new version"
        alert.version = answer["version"]
        for code in alert.recipients:
            self.log[code].append((alert.id, alert.version))

    def pending(self, poller: Poller) -> list[tuple[int, str, int]]:
        """(log index, alert id, version) of each alert whose latest change the poller's cursor
        has not passed, oldest change first."""
        latest: dict[str, tuple[int, int]] = {}
        for index, (alert_id, version) in enumerate(self.log[poller.code]):
            latest[alert_id] = (index, version)
        return sorted((index, alert_id, version) for alert_id, (index, version) in latest.items()
                      if index >= poller.consumed)


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with rolled_back_connection(engine) as connection:
        yield connection


@pytest.fixture
def database(engine: AsyncEngine, connection: AsyncConnection) -> Database:
    """The conftest's rolled-back database, with its connection at hand for a savepoint per example."""
    return Database(engine, bind=connection, link_in_request=True)


@pytest.fixture
async def feed(client: httpx.AsyncClient, world: Any) -> Feed:
    headers = {code: await world.headers(f"{code}.staff") for code in SCHOOLS}
    headers |= {code: await world.headers(username) for code, username in RECIPIENTS.items()}
    pupils = {code: await pupil_id(client, headers[code], pin) for code, pin in SCHOOLS.items()}
    codes = {str(await world.organisation_id(code)): code for code in (*SCHOOLS, *RECIPIENTS)}
    return Feed(headers=headers, pupils=pupils, codes=codes)


async def poll(client: httpx.AsyncClient, feed: Feed, model: Model, poller: Poller, limit: int) -> int:
    """One page of the poller's inbox, checked against the model; the number of items."""
    params: dict[str, Any] = {"limit": limit} | ({"after": poller.cursor} if poller.cursor else {})
    response = await client.get("/api/v1/inbox", params=params, headers=feed.headers[poller.code])
    assert response.status_code == 200, response.text
    page = response.json()
    items = page["items"]
    assert all(item["kind"] == "alert" for item in items), items

    pending = model.pending(poller)
    if len(pending) > limit:
        event("a poll left changes for the next page")
    got = [(item["alert"]["id"], item["alert"]["version"]) for item in items]
    assert got == [(alert_id, version) for _, alert_id, version in pending[:limit]], (
        f"{poller.code} after {poller.consumed} of its changes, limit {limit}"
    )
    for item in items:
        assert item["change"] > poller.last_change, "a change was delivered twice or out of feed order"
        poller.last_change = item["change"]
    assert not set(got) & set(poller.seen), "a change was delivered twice"
    poller.seen.extend(got)
    if items:
        poller.consumed = pending[len(items) - 1][0] + 1
    elif poller.cursor is not None:
        assert page["next"] == poller.cursor, "an empty page moves the cursor"
    assert page["next"], "the inbox always answers a cursor to poll from"
    poller.cursor = page["next"]
    return len(items)


async def respond(client: httpx.AsyncClient, feed: Feed, alert: TrackedAlert, code: str, step: str,
                  body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/alerts/{alert.id}/{step}", json=body,
        headers={**feed.headers[code], "If-Match": f'"{alert.version}"'},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def play(client: httpx.AsyncClient, feed: Feed, data: st.DataObject) -> None:
    model = Model()
    pollers = {code: Poller(code) for code in RECIPIENTS}
    for poller in pollers.values():  # start from the cursor of now, whatever came before
        while await poll(client, feed, model, poller, 200):
            pass

    for _ in range(data.draw(st.integers(min_value=1, max_value=30), label="steps")):
        step = data.draw(st.sampled_from(STEPS), label="step")
        open_alerts = [a for a in model.alerts if not a.closed]
        if step == "raise":
            school = data.draw(st.sampled_from(sorted(SCHOOLS)), label="school")
            alert_type = data.draw(st.sampled_from(sorted(ALERT_DETAILS)), label="type")
            response = await client.post(
                "/api/v1/alerts",
                json={"child_id": feed.pupils[school], "type": alert_type, "details": ALERT_DETAILS[alert_type]},
                headers=feed.headers[school],
            )
            assert response.status_code == 201, response.text
            answer = response.json()
            recipients = {feed.codes[r["organisation_id"]]: r["lead"] for r in answer["recipients"]}
            assert set(recipients) <= set(RECIPIENTS) and len(recipients) == 2, recipients
            alert = TrackedAlert(answer["id"], recipients, version=0)
            model.alerts.append(alert)
            model.changed(alert, answer)
        elif step == "poll":
            code = data.draw(st.sampled_from(sorted(pollers)), label="poller")
            await poll(client, feed, model, pollers[code], data.draw(st.integers(1, 6), label="limit"))
        else:
            if step == "acknowledge":
                choices = [(a, c) for a in open_alerts for c in a.recipients if c not in a.acknowledged]
            elif step == "act":
                choices = [(a, c) for a in open_alerts for c in a.recipients]
            else:
                choices = [(a, c) for a in open_alerts for c in a.recipients if c not in a.done]
            if not choices:
                continue
            alert, code = data.draw(st.sampled_from(choices), label=f"{step} by")
            if step == "acknowledge":
                answer = await respond(client, feed, alert, code, "acknowledge")
            elif step == "act":
                answer = await respond(client, feed, alert, code, "actions", data.draw(st.sampled_from(ACTIONS)))
            else:
                answer = await respond(client, feed, alert, code, "close", data.draw(st.sampled_from(OUTCOMES)))
                alert.done.add(code)
                alert.closed = alert.recipients[code]
                assert (answer["status"] == "closed") is alert.closed
            alert.acknowledged.add(code)
            model.changed(alert, answer)

    for poller in pollers.values():  # the final poll: drain what is left
        while await poll(client, feed, model, poller, data.draw(st.integers(1, 200), label="drain limit")):
            pass
        log = model.log[poller.code]
        order = {change: index for index, change in enumerate(log)}
        assert set(poller.seen) <= set(log), "the poller saw a change that was not made, or not for it"
        assert [order[change] for change in poller.seen] == sorted(order[change] for change in poller.seen)
        final = {alert_id: version for alert_id, version in log}
        seen_latest = {alert_id: version for alert_id, version in poller.seen}
        assert seen_latest == final, f"{poller.code} missed a change"
        for alert_id, version in log:  # each change seen, or shown by a later change of the same alert
            assert (alert_id, version) in poller.seen or seen_latest[alert_id] > version
        if len(poller.seen) < len(log):
            event("a change was superseded before a poll could show it")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_a_poller_following_next_sees_every_change_once_in_feed_order(client, feed, connection, data):
    savepoint = await connection.begin_nested()
    try:
        await play(client, feed, data)
    finally:
        if savepoint.is_active:
            await savepoint.rollback()
