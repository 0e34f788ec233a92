"""Issue 19: the platform administrator sees the e-mail notices the worker gave up on (who and
which event, never an address or a child's data), page by page, and sends one again; each read
and each requeue is audited; nobody else may do either."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlmodel import col

from service.audit.models import AuditEvent
from service.delivery.worker import Worker
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, pupil_id, raise_alert
from tests.notices.helpers import PUBLIC_URL, choose, send_all, user_id
from tests.notices.mailserver import free_port, mail_server

DEAD = "/api/v1/mail/dead-letters"


@pytest.fixture
def mail_settings(settings):
    return settings.model_copy(
        update={"public_url": PUBLIC_URL, "mail_from": "obhvat@example.bg", "mail_backoff_seconds": 0.001}
    )


@pytest.fixture
def app(mail_settings, database):
    from tests.conftest import make_app

    return make_app(mail_settings, database)


async def _two_dead_notices(client, world, database, mail_settings) -> str:
    """Two urgent alerts routed to child protection of Kazanlak, whose officer asked to be told;
    the mail server refuses, so both notices die. Returns the officer's user id."""
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, "ivanova@dsp-kazanlak.example.bg", ["alert_routed"])
    teacher = await world.headers("school-koprinka.staff")
    for pin in KOPRINKA_PUPIL_PINS[:2]:
        await raise_alert(client, teacher, await pupil_id(client, teacher, pin), "abuse_or_neglect_suspected",
                          severity="urgent")
    refusing = mail_settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}", "mail_max_attempts": 1})
    for _ in range(2):
        await Worker(refusing, database).send_mail_once()
        await asyncio.sleep(0.01)
    return await user_id(client, cp)


async def test_the_administrator_pages_through_dead_notices_and_sends_one_again(
    client, world, admin, database, mail_settings
):
    officer_id = await _two_dead_notices(client, world, database, mail_settings)
    first = await client.get(DEAD, params={"limit": 1}, headers=admin)
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["items"]) == 1 and body["next"]
    assert 'rel="next"' in first.headers["Link"]
    second = (await client.get(DEAD, params={"limit": 1, "after": body["next"]}, headers=admin)).json()
    assert second["next"] is None
    items = body["items"] + second["items"]
    assert len({i["id"] for i in items}) == 2
    fields = {"id", "event_id", "event_type", "user_id", "status", "attempts", "last_error", "created_at"}
    for item in items:
        assert set(item) == fields
        assert (item["status"], item["attempts"], item["event_type"], item["user_id"]) == (
            "dead", 1, "alert_routed", officer_id
        )
        assert item["last_error"]
    assert "ivanova@" not in first.text

    again = await client.post(f"{DEAD}/{items[0]['id']}/redeliver", headers=admin)
    assert again.status_code == 202, again.text
    left = (await client.get(DEAD, headers=admin)).json()["items"]
    assert [i["id"] for i in left] == [items[1]["id"]]
    with mail_server() as server:
        await send_all(mail_settings.model_copy(update={"smtp_url": server.url}), database)
    assert [m.to for m in server.messages] == [["ivanova@dsp-kazanlak.example.bg"]]
    sent_twice = await client.post(f"{DEAD}/{items[0]['id']}/redeliver", headers=admin)
    assert sent_twice.status_code == 409

    async with database.transaction() as session:
        reasons = (await session.execute(
            select(col(AuditEvent.reason)).where(col(AuditEvent.resource_type) == "outbox_mail")
        )).scalars().all()
    assert "dead e-mail notice requeued" in reasons
    assert sum(1 for r in reasons if r and r.startswith("dead e-mail notices read")) == 3


async def test_an_unknown_notice_is_not_found(client, admin):
    missing = await client.post(f"{DEAD}/00000000-0000-4000-8000-000000000000/redeliver", headers=admin)
    assert missing.status_code == 404


async def test_others_may_neither_see_nor_resend_dead_notices(client, world, admin, database, mail_settings):
    await _two_dead_notices(client, world, database, mail_settings)
    dead_id = (await client.get(DEAD, headers=admin)).json()["items"][0]["id"]
    for username in ("cp-kazanlak.cp", "school-koprinka.admin", "rue-lovech.auditor"):
        headers = await world.headers(username)
        assert (await client.get(DEAD, headers=headers)).status_code == 403, username
        assert (await client.post(f"{DEAD}/{dead_id}/redeliver", headers=headers)).status_code == 403, username
    assert [i["id"] for i in (await client.get(DEAD, headers=admin)).json()["items"]].count(dead_id) == 1
