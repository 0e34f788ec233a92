"""Issue 19 in the console: every signed-in person chooses their e-mail notices on a settings page
that saves what `/me/notifications` then answers, and an officer sees "Моите случаи", the cases
`/my/cases` lists. Forms without the CSRF token are refused; the pages speak Bulgarian."""

from __future__ import annotations

import httpx

from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, current_etag, pupil_id, raise_alert
from tests.conftest import World
from tests.web.helpers import csrf_of, sign_in


async def test_a_teacher_finds_the_settings_in_the_menu_and_saves_notices_the_api_then_answers(
    client: httpx.AsyncClient, world: World
) -> None:
    start = await sign_in(client, "school-koprinka.staff")
    assert 'href="/settings/notifications"' in start.text
    assert "Известия по имейл" in start.text
    form = await client.get("/settings/notifications")
    assert form.status_code == 200
    assert "Сигнал, подаден от мен, е приключен" in form.text
    assert form.headers["Cache-Control"] == "no-store"
    saved = await client.post(
        "/settings/notifications",
        data={"csrf_token": csrf_of(form), "email": "uchitel@koprinka.example.bg", "language": "bg",
              "events": ["alert_closed", "alert_assigned"], "digest_hour": "7"},
    )
    assert saved.status_code == 200, saved.text
    assert "Изборът ви е запазен." in saved.text
    api = await client.get("/api/v1/me/notifications", headers=await world.headers("school-koprinka.staff"))
    assert api.json() == {
        "email": "uchitel@koprinka.example.bg", "language": "bg", "events": ["alert_closed", "alert_assigned"],
        "digest_hour": 7, "urgent_immediately": True,
    }


async def test_a_wrong_address_is_shown_in_bulgarian_and_nothing_is_saved(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "cp-kazanlak.cp")
    form = await client.get("/settings/notifications")
    refused = await client.post(
        "/settings/notifications",
        data={"csrf_token": csrf_of(form), "email": "не е адрес", "language": "bg", "events": ["alert_routed"]},
    )
    assert refused.status_code == 422
    assert "Въведете имейл адрес като ime@example.bg" in refused.text
    assert 'value="не е адрес"' in refused.text
    api = await client.get("/api/v1/me/notifications", headers=await world.headers("cp-kazanlak.cp"))
    assert api.json()["email"] is None
    assert "alert_routed" not in api.json()["events"]


async def test_the_settings_form_without_its_csrf_token_is_refused(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "cp-kazanlak.cp")
    refused = await client.post(
        "/settings/notifications", data={"email": "x@dsp.example.bg", "language": "bg", "events": ["alert_routed"]}
    )
    assert refused.status_code == 403
    api = await client.get("/api/v1/me/notifications", headers=await world.headers("cp-kazanlak.cp"))
    assert api.json()["email"] is None


async def test_the_settings_page_needs_a_sign_in(client: httpx.AsyncClient) -> None:
    answer = await client.get("/settings/notifications")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


async def test_the_officer_sees_the_alert_assigned_to_her_under_my_cases(
    client: httpx.AsyncClient, world: World
) -> None:
    teacher = await world.headers("school-koprinka.staff")
    alert = await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0]))
    start = await sign_in(client, "cp-kazanlak.cp")
    assert 'href="/my/cases"' in start.text
    empty = await client.get("/my/cases")
    assert empty.status_code == 200
    assert "Нищо не ви е възложено." in empty.text
    cp = await world.headers("cp-kazanlak.cp")
    me = (await client.get("/api/v1/me", headers=cp)).json()
    assigned = await client.post(
        f"/api/v1/alerts/{alert['id']}/assign", json={"assignee_id": me["id"]},
        headers={**cp, "If-Match": await current_etag(client, cp, alert["id"])},
    )
    assert assigned.status_code == 200, assigned.text
    page = await client.get("/my/cases")
    assert page.status_code == 200
    assert "Моите случаи" in page.text
    assert f'href="/alerts/{alert["id"]}"' in page.text
    api = (await client.get("/api/v1/my/cases", headers=cp)).json()["items"]
    assert [a["id"] for a in api] == [alert["id"]]


async def test_an_auditor_has_no_cases_in_the_menu_and_the_page_answers_as_the_api(
    client: httpx.AsyncClient, world: World
) -> None:
    start = await sign_in(client, "rue-lovech.auditor")
    assert 'href="/my/cases"' not in start.text
    assert 'href="/settings/notifications"' in start.text
    api = await client.get("/api/v1/my/cases", headers=await world.headers("rue-lovech.auditor"))
    page = await client.get("/my/cases")
    assert (page.status_code, api.status_code) == (200, 200)
    assert api.json()["items"] == []
    assert "Нищо не ви е възложено." in page.text


async def test_the_inbox_flags_an_urgent_alert_nobody_has_been_given(client: httpx.AsyncClient, world: World) -> None:
    teacher = await world.headers("school-koprinka.staff")
    await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0]),
                      "abuse_or_neglect_suspected", severity="urgent")
    await sign_in(client, "cp-kazanlak.cp")
    inbox = await client.get("/inbox")
    assert inbox.status_code == 200
    assert "Още не е възложен на никого" in inbox.text
