"""Issue 19: people are told by e-mail, through the outbox and `obhvat worker`, over a real SMTP
server (aiosmtpd): the right people only, no child data, retried while the server is down,
preferences and the daily digest honoured, once per event and person."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, update
from sqlmodel import col

from service.core.clock import utcnow
from service.delivery.models import OutboxMail
from service.delivery.worker import Worker
from service.demo.loader import DEFAULT_DEMO_FILE
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, pupil_id, raise_alert
from tests.notices.helpers import PUBLIC_URL, choose, colleague, send_all
from tests.notices.mailserver import free_port, mail_server
from tests.secrets import forbidden_in_logs

NOTE = "Майката съобщи, че детето е заключено вкъщи на ул. Розова 7"


@pytest.fixture
def mail_settings(settings):
    return settings.model_copy(
        update={"public_url": PUBLIC_URL, "mail_from": "obhvat@example.bg", "mail_backoff_seconds": 0.001}
    )


@pytest.fixture
def app(mail_settings, database):
    from tests.conftest import make_app

    return make_app(mail_settings, database)


def _child_data() -> list[str]:
    """Every demo child's PIN, names and address: none may appear in an e-mail."""
    demo = json.loads(DEFAULT_DEMO_FILE.read_text(encoding="utf-8"))
    values = [v for v in forbidden_in_logs() if not v.startswith(("obhvat-demo", "correct horse", "a-new-pass"))]
    for child in demo["children"]:
        values.append(child["given_name"])
        if child.get("address"):
            values.append(child["address"])
    return values + [NOTE, "Розова"]


async def test_urgent_alert_reaches_the_lead_officer_who_asked_and_nobody_else(
    client, world, admin, database, mail_settings
):
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, "ivanova@dsp-kazanlak.example.bg", ["alert_routed"])
    # a colleague who never chose: routed alerts are not sent by default
    await colleague(client, admin, world, "cp-kazanlak.second", "cp-kazanlak", "cp_officer")
    # the police are routed the alert too, but this officer did not ask for routed alerts
    police = await world.headers("police-kazanlak.police")
    await choose(client, police, "inspector@police-kazanlak.example.bg", ["alert_assigned"])
    # another department asked for routed alerts: not its alert
    other = await world.headers("cp-lukovit.cp")
    await choose(client, other, "officer@dsp-lukovit.example.bg", ["alert_routed"])

    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    alert = await raise_alert(client, teacher, child_id, "abuse_or_neglect_suspected", severity="urgent", note=NOTE)

    with mail_server() as inbox:
        attempted = await send_all(mail_settings.model_copy(update={"smtp_url": inbox.url}), database, rounds=1)

    assert attempted == 1  # within one worker cycle
    assert [m.to for m in inbox.messages] == [["ivanova@dsp-kazanlak.example.bg"]]
    mail = inbox.messages[0]
    assert mail.message["From"] == "obhvat@example.bg"
    assert "СПЕШНО" in mail.message["Subject"]
    assert "Съмнение за насилие или занемаряване" in mail.text and "спешно" in mail.text
    assert f"{PUBLIC_URL}/alerts/{alert['id']}" in mail.text
    assert f'href="{PUBLIC_URL}/alerts/{alert["id"]}"' in mail.html
    leaked = [value for value in _child_data() if value in mail.raw or value in mail.text or value in mail.html]
    assert leaked == []


async def test_english_notice_for_a_person_who_chose_english(client, world, database, mail_settings):
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, "officer@dsp-kazanlak.example.bg", ["alert_routed"], language="en")
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[1])
    await raise_alert(client, teacher, child_id, "abuse_or_neglect_suspected", severity="urgent")
    with mail_server() as inbox:
        await send_all(mail_settings.model_copy(update={"smtp_url": inbox.url}), database)
    assert len(inbox.messages) == 1
    assert inbox.messages[0].message["Subject"].startswith("[Obhvat] URGENT")
    assert "Suspected abuse or neglect" in inbox.messages[0].text


async def test_people_without_an_address_are_skipped_and_nothing_is_queued_for_them(
    client, world, database, mail_settings
):
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, None, ["alert_routed"])
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    before = _skipped("alert_routed")
    await raise_alert(client, teacher, child_id, "abuse_or_neglect_suspected", severity="urgent")
    async with database.transaction() as session:
        assert (await session.execute(select(OutboxMail))).scalars().all() == []
    # the one officer of the department who asked for it and gave no address is counted
    assert _skipped("alert_routed") - before == 1
    metrics = (await client.get("/metrics")).text
    assert f'obhvat_mail_skipped_no_address_total{{notice="alert_routed"}} {_skipped("alert_routed")}' in metrics


def _skipped(notice: str) -> float:
    return REGISTRY.get_sample_value("obhvat_mail_skipped_no_address_total", {"notice": notice}) or 0.0


async def test_mail_server_down_the_notice_waits_and_goes_once_when_it_is_back(
    client, world, database, mail_settings
):
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, "ivanova@dsp-kazanlak.example.bg", ["alert_routed"])
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    await raise_alert(client, teacher, child_id, "abuse_or_neglect_suspected", severity="urgent")

    port = free_port()  # nothing listens there yet
    down = mail_settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
    worker = Worker(down, database)
    assert await worker.send_mail_once() == 1
    async with database.transaction() as session:
        row = (await session.execute(select(OutboxMail))).scalar_one()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error and "Connection" in row.last_error

    with mail_server(port) as inbox:
        inbox.answers = ["451 4.3.0 try again later"]  # and then the server refuses once more
        await asyncio.sleep(0.01)
        await send_all(down, database, rounds=10)
        await send_all(down, database, rounds=3)
    assert len(inbox.messages) == 1
    async with database.transaction() as session:
        row = (await session.execute(select(OutboxMail))).scalar_one()
    assert (row.status, row.attempts) == ("sent", 3)


async def test_after_the_last_attempt_the_notice_is_a_dead_letter(client, world, database, mail_settings):
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, "ivanova@dsp-kazanlak.example.bg", ["alert_routed"])
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    await raise_alert(client, teacher, child_id, "abuse_or_neglect_suspected", severity="urgent")
    refusing = mail_settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}", "mail_max_attempts": 2})
    for _ in range(4):
        await Worker(refusing, database).send_mail_once()
        await asyncio.sleep(0.01)
    async with database.transaction() as session:
        row = (await session.execute(select(OutboxMail))).scalar_one()
    assert (row.status, row.attempts) == ("dead", 2)


async def test_without_smtp_settings_notices_wait_in_the_outbox(client, world, database, mail_settings):
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, "ivanova@dsp-kazanlak.example.bg", ["alert_routed"])
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    await raise_alert(client, teacher, child_id, "abuse_or_neglect_suspected", severity="urgent")
    assert await Worker(mail_settings, database).send_mail_once() == 0
    async with database.transaction() as session:
        row = (await session.execute(select(OutboxMail))).scalar_one()
    assert (row.status, row.attempts) == ("pending", 0)


async def test_digest_gathers_the_days_notices_into_one_mail_but_urgent_goes_at_once(
    client, world, database, mail_settings
):
    cp = await world.headers("cp-kazanlak.cp")
    chosen = await choose(client, cp, "ivanova@dsp-kazanlak.example.bg", ["alert_routed"], digest_hour=7)
    assert chosen["digest_hour"] == 7 and chosen["urgent_immediately"] is True
    teacher = await world.headers("school-koprinka.staff")
    for pin in KOPRINKA_PUPIL_PINS[:2]:
        await raise_alert(client, teacher, await pupil_id(client, teacher, pin))  # concern
    urgent = await raise_alert(
        client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[2]), "abuse_or_neglect_suspected",
        severity="urgent",
    )
    smtp_settings = mail_settings.model_copy(update={"smtp_url": "smtp://placeholder"})
    with mail_server() as inbox:
        smtp_settings = smtp_settings.model_copy(update={"smtp_url": inbox.url})
        await send_all(smtp_settings, database)
        assert len(inbox.messages) == 1  # the urgent one, at once
        assert urgent["id"] in inbox.messages[0].text

        async with database.transaction() as session:
            waiting = (await session.execute(select(OutboxMail).where(col(OutboxMail.digest)))).scalars().all()
            assert len(waiting) == 2
            assert all(row.next_attempt_at > utcnow() and row.next_attempt_at.astimezone().minute == 0
                       for row in waiting)
            # seven o'clock comes
            await session.execute(
                update(OutboxMail).where(col(OutboxMail.digest)).values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
        await send_all(smtp_settings, database)
    assert len(inbox.messages) == 2
    digest = inbox.messages[1]
    assert "(2)" in digest.message["Subject"]
    assert digest.text.count(f"{PUBLIC_URL}/alerts/") == 2


async def test_a_worker_killed_mid_send_sends_each_notice_once_to_each_person(
    client, world, admin, database, mail_settings
):
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, "first@dsp-kazanlak.example.bg", ["alert_routed"])
    await colleague(client, admin, world, "cp-kazanlak.second", "cp-kazanlak", "cp_officer")
    second = await world.headers("cp-kazanlak.second")
    await choose(client, second, "second@dsp-kazanlak.example.bg", ["alert_routed"])
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    await raise_alert(client, teacher, child_id, "abuse_or_neglect_suspected", severity="urgent")

    with mail_server() as inbox:
        smtp_settings = mail_settings.model_copy(update={"smtp_url": inbox.url, "worker_lease_seconds": 5})
        first = Worker(smtp_settings, database)
        rows = await first.claim_mail()
        assert len(rows) == 2
        await first._send_mail([rows[0]])  # the first person's notice is sent and recorded
        # the second is with the server when the worker is killed: the server never accepts it
        inbox.gate = threading.Event()
        inbox.answers = ["421 4.3.0 connection lost"]
        inbox.arrived.clear()
        killed = asyncio.create_task(first._send_mail([rows[1]]))
        await asyncio.get_running_loop().run_in_executor(None, inbox.arrived.wait, 5)
        killed.cancel()
        inbox.gate.set()
        with pytest.raises(asyncio.CancelledError):
            await killed
        inbox.gate = None
        # a new worker, once the dead one's lease has run out
        async with database.transaction() as session:
            await session.execute(update(OutboxMail).values(lease_until=utcnow() - timedelta(seconds=1)))
        await send_all(smtp_settings, database)
        await send_all(smtp_settings, database)
    assert sorted(m.to[0] for m in inbox.messages) == [
        "first@dsp-kazanlak.example.bg",
        "second@dsp-kazanlak.example.bg",
    ]


async def test_the_author_is_told_when_the_alert_closes(client, world, database, mail_settings):
    teacher = await world.headers("school-koprinka.staff")
    await choose(client, teacher, "teacher@koprinka.example.bg", ["alert_closed"])
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    alert = await raise_alert(client, teacher, child_id)
    cp = await world.headers("cp-kazanlak.cp")
    closed = await act(client, cp, alert["id"], "close", {"outcome": "returned_to_school"})
    assert closed.status_code == 200, closed.text
    with mail_server() as inbox:
        await send_all(mail_settings.model_copy(update={"smtp_url": inbox.url}), database)
    assert [m.to for m in inbox.messages] == [["teacher@koprinka.example.bg"]]
    assert "приключен" in inbox.messages[0].message["Subject"]


async def test_the_author_who_did_not_ask_is_not_told_of_the_closure(client, world, database, mail_settings):
    teacher = await world.headers("school-koprinka.staff")
    await choose(client, teacher, "teacher@koprinka.example.bg", ["alert_assigned"])
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    alert = await raise_alert(client, teacher, child_id)
    cp = await world.headers("cp-kazanlak.cp")
    assert (await act(client, cp, alert["id"], "close", {"outcome": "returned_to_school"})).status_code == 200
    async with database.transaction() as session:
        assert (await session.execute(select(OutboxMail))).scalars().all() == []


async def test_break_glass_read_tells_the_department_by_email(client, world, database, mail_settings):
    department = await world.headers("cp-kazanlak.cp")
    await choose(client, department, "duty@dsp-kazanlak.example.bg", ["break_glass"])
    police = await world.headers("police-lukovit.police")
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    read = await client.get(
        f"/api/v1/children/{child_id}/history",
        headers={
            **police,
            "X-Purpose-Of-Use": "emergency",
            "X-Break-Glass-Reason": "the child is missing, relatives must be found urgently",
        },
    )
    assert read.status_code == 200, read.text
    with mail_server() as inbox:
        await send_all(mail_settings.model_copy(update={"smtp_url": inbox.url}), database)
    assert [m.to for m in inbox.messages] == [["duty@dsp-kazanlak.example.bg"]]
    assert f"{PUBLIC_URL}/children/{child_id}" in inbox.messages[0].text
    assert "missing" not in inbox.messages[0].raw
