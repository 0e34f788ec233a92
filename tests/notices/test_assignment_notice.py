"""Issue 19: the officer an alert is assigned to is told by e-mail (if they asked), the one who
takes it themself is not; a known-to-child-protection question is told to the department."""

from __future__ import annotations

import pytest

from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, current_etag, pupil_id, raise_alert
from tests.notices.helpers import PUBLIC_URL, choose, colleague, send_all, user_id
from tests.notices.mailserver import mail_server


@pytest.fixture
def mail_settings(settings):
    return settings.model_copy(update={"public_url": PUBLIC_URL})


@pytest.fixture
def app(mail_settings, database):
    from tests.conftest import make_app

    return make_app(mail_settings, database)


async def _assign(client, headers, alert_id, assignee_id):
    etag = await current_etag(client, headers, alert_id)
    return await client.post(
        f"/api/v1/alerts/{alert_id}/assign", json={"assignee_id": assignee_id}, headers={**headers, "If-Match": etag}
    )


async def test_the_officer_given_the_alert_is_told_by_email_and_nobody_else(
    client, world, admin, database, mail_settings
):
    officer_id = await colleague(client, admin, world, "cp-kazanlak.petrova", "cp-kazanlak", "cp_officer")
    officer = await world.headers("cp-kazanlak.petrova")
    await choose(client, officer, "petrova@dsp-kazanlak.example.bg", ["alert_assigned"])
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, "ivanova@dsp-kazanlak.example.bg", ["alert_assigned"])
    teacher = await world.headers("school-koprinka.staff")
    alert = await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0]))
    assigned = await _assign(client, cp, alert["id"], officer_id)
    assert assigned.status_code == 200, assigned.text
    with mail_server() as server:
        await send_all(mail_settings.model_copy(update={"smtp_url": server.url}), database)
    assert [m.to for m in server.messages] == [["petrova@dsp-kazanlak.example.bg"]]
    assert "възложен на вас" in server.messages[0].message["Subject"]
    assert f"{PUBLIC_URL}/alerts/{alert['id']}" in server.messages[0].text


async def test_taking_the_alert_oneself_sends_no_mail(client, world, database, mail_settings):
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, "ivanova@dsp-kazanlak.example.bg", ["alert_assigned"])
    teacher = await world.headers("school-koprinka.staff")
    alert = await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0]))
    assert (await _assign(client, cp, alert["id"], await user_id(client, cp))).status_code == 200
    with mail_server() as server:
        await send_all(mail_settings.model_copy(update={"smtp_url": server.url}), database)
    assert server.messages == []


async def test_a_known_to_cp_question_is_told_to_the_department_by_email(client, world, database, mail_settings):
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, "duty@dsp-kazanlak.example.bg", ["known_to_cp"])
    teacher = await world.headers("school-koprinka.staff")
    await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0]))
    police = await world.headers("police-kazanlak.police")
    asked = await client.post("/api/v1/children/known-to-cp", json={"pin": KOPRINKA_PUPIL_PINS[0]}, headers=police)
    assert asked.status_code == 200, asked.text
    assert asked.json()["known"] is True
    with mail_server() as server:
        await send_all(mail_settings.model_copy(update={"smtp_url": server.url}), database)
    assert [m.to for m in server.messages] == [["duty@dsp-kazanlak.example.bg"]]
    assert KOPRINKA_PUPIL_PINS[0] not in server.messages[0].raw
    assert f"{PUBLIC_URL}/inbox" in server.messages[0].text
