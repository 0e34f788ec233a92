"""The inbox feed under concurrent writers: a poller following `next` never misses a change
and never sees the same change twice."""

from __future__ import annotations

import asyncio
import random

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from service.alerts import feed
from service.alerts.models import AlertRecipient
from service.app import create_app
from service.core.database import Database
from service.demo.loader import DEFAULT_DEMO_FILE, load_demo
from tests.conftest import OPERATOR, RUN_LOG, World, _Tee

KAZANLAK_PUPIL_PINS = ["1152035081", "1247183719", "1552049639"]
WRITERS = 6
ALERTS_PER_WRITER = 4
#: polls while draining (0.1 s apart) before the test gives up on the horizon passing
DRAIN_POLLS = 1200


async def all_settled(database: Database) -> bool:
    """Whether every change committed so far may show in the feed (always, in counter mode)."""
    async with database.transaction() as session:
        settled = feed.settled(session, func.max(col(AlertRecipient.change_seq)))
        return settled is None or bool((await session.execute(select(settled))).scalar_one())


async def test_poller_following_next_sees_every_change_once_under_concurrent_writers(
    committed_database, settings
):
    app = create_app(settings, database=committed_database, log_stream=_Tee(RUN_LOG))
    await load_demo(settings=settings, database=committed_database, path=DEFAULT_DEMO_FILE, actor=OPERATOR)
    world = World(app, committed_database)
    teacher_headers = {
        "school-koprinka": await world.headers("school-koprinka.staff"),
        "school-gorno-cherkovishte": await world.headers("school-gorno-cherkovishte.staff"),
        "school-kazanlak": await world.headers("school-kazanlak.staff"),
    }
    cp = await world.headers("cp-kazanlak.cp")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as client:
        children = []
        for pin, school in zip(KAZANLAK_PUPIL_PINS, teacher_headers, strict=True):
            found = await client.post("/api/v1/children/lookup", json={"pin": pin}, headers=teacher_headers[school])
            assert found.status_code == 200, found.text
            children.append((found.json()["id"], teacher_headers[school]))

        writers_done = asyncio.Event()
        seen_positions: list[int] = []
        latest_seen: dict[str, int] = {}

        async def writer(number: int) -> None:
            rng = random.Random(number)
            for month in range(1, ALERTS_PER_WRITER + 1):
                child_id, headers = children[number % len(children)]
                raised = await client.post(
                    "/api/v1/alerts",
                    json={"child_id": child_id, "type": "unexcused_absences",
                          "details": {"month": f"2026-{month:02d}", "unexcused_hours": 6 + number}},
                    headers=headers,
                )
                assert raised.status_code == 201, raised.text
                if rng.random() < 0.6:
                    current = await client.get(f"/api/v1/alerts/{raised.json()['id']}", headers=cp)
                    acked = await client.post(
                        f"/api/v1/alerts/{raised.json()['id']}/acknowledge",
                        headers={**cp, "If-Match": current.headers["ETag"]},
                    )
                    assert acked.status_code == 200, acked.text
                await asyncio.sleep(rng.random() / 100)

        async def poll(cursor: str | None) -> tuple[str, int]:
            params = {"limit": 7} | ({"after": cursor} if cursor else {})
            page = await client.get("/api/v1/inbox", params=params, headers=cp)
            assert page.status_code == 200, page.text
            body = page.json()
            for item in body["items"]:
                seen_positions.append(item["change"])
                latest_seen[item["alert"]["id"]] = item["change"]
            return body["next"], len(body["items"])

        async def poller() -> None:
            cursor = None
            while not writers_done.is_set():
                cursor, _ = await poll(cursor)
                await asyncio.sleep(0.005)
            # drain what the last writers committed: on PostgreSQL a change shows once no
            # transaction of the cluster that began before it is still in flight
            for _ in range(DRAIN_POLLS):
                settled = await all_settled(committed_database)
                cursor, count = await poll(cursor)
                if settled and count == 0:
                    return
                if count == 0:
                    await asyncio.sleep(0.1)
            raise AssertionError("the feed's horizon never passed the last change")

        polling = asyncio.create_task(poller())
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        writers_done.set()
        await polling

    cp_id = await world.organisation_id("cp-kazanlak")
    async with committed_database.transaction() as session:
        final = dict(
            (await session.execute(
                select(AlertRecipient.alert_id, AlertRecipient.change_seq)
                .where(AlertRecipient.organisation_id == cp_id)
            )).all()
        )
    assert len(final) == WRITERS * ALERTS_PER_WRITER
    assert seen_positions == sorted(set(seen_positions)), "a change was delivered twice or out of order"
    assert {str(k): v for k, v in final.items()} == latest_seen, "the poller missed a change"
