"""Joint enrolment teams and assigning alerts in the console: `/admin/teams` and the alert page's
"Възлагане" go through the team and assignment services the API calls (what they record is what
the API then answers), refuse whom the API refuses, tie bad input to its field in Bulgarian, show
people and organisations by name, and a form from before someone else's change is not applied."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, pupil_id, raise_alert
from tests.conftest import World, asgi_client
from tests.mechanism.helpers import COORDINATOR, import_kazanlak_list, team_id
from tests.web.helpers import csrf_of, form_fields, sign_in

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHIPKA = "Екип за обхват – Шипка"
COLLEAGUE = "cp-kazanlak.second"


def _visible(page: httpx.Response) -> str:
    """The page's text as read, without its tags and attributes."""
    return re.sub(r"<[^>]+>", " ", page.text)


async def _user_id(client: httpx.AsyncClient, world: World, username: str) -> str:
    me = await client.get("/api/v1/me", headers=await world.headers(username))
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


async def _api_team(client: httpx.AsyncClient, world: World, code: str) -> dict[str, Any] | None:
    listed = await client.get("/api/v1/teams", headers=await world.headers(COORDINATOR))
    assert listed.status_code == 200, listed.text
    return next((t for t in listed.json()["items"] if t["code"] == code), None)


def _new_team(csrf: str, lead: str, **changes: str) -> dict[str, str]:
    form = {"csrf_token": csrf, "name": SHIPKA, "code": "team-shipka", "municipality_code": "SZR12",
            "settlement_codes": "83185", "lead_organisation_id": lead}
    form.update(changes)
    return form


# --- teams ------------------------------------------------------------------------------------


async def test_a_coordinator_creates_a_team_and_adds_and_removes_a_member_by_name(
    client: httpx.AsyncClient, world: World
) -> None:
    start = await sign_in(client, COORDINATOR)
    assert 'href="/admin/teams"' in start.text and "Екипи за обхват" in start.text
    page = await client.get("/admin/teams")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    # the demo's team: its lead and members by name, never an id
    assert "Екип за обхват – община Казанлък" in page.text and "Община Казанлък" in page.text
    assert "police-kazanlak.police" in page.text and "РУ на МВР Казанлък" in page.text
    assert not UUID.search(_visible(page)), "an id is shown as text"
    assert "Екип за обхват – община Луковит" not in page.text  # another municipality's team

    lead = form_fields(page, "/admin/teams/new")["lead_organisation_id"]
    assert lead == str(await world.organisation_id("mun-kazanlak"))  # the coordinator's own, chosen
    created = await client.post("/admin/teams/new", data=_new_team(csrf_of(page), lead))
    assert created.status_code == 303 and created.headers["location"] == "/admin/teams?done=created"
    team = await _api_team(client, world, "team-shipka")
    assert team is not None and team["name"] == SHIPKA and team["settlement_codes"] == ["83185"]

    page = await client.get("/admin/teams?done=created")
    assert "Екипът е създаден." in page.text and SHIPKA in page.text
    added = await client.post(f"/admin/teams/{team['id']}/members",
                              data={"csrf_token": csrf_of(page), "username": " mkbppmn-kazanlak.commission "})
    assert added.status_code == 303, added.text
    team = await _api_team(client, world, "team-shipka")
    assert team is not None and [m["username"] for m in team["members"]] == ["mkbppmn-kazanlak.commission"]
    page = await client.get("/admin/teams?done=member_added")
    assert "Човекът е добавен към екипа." in page.text
    assert "Местна комисия за борба срещу противообществените прояви" in page.text

    member = team["members"][0]["user_id"]
    removed = await client.post(f"/admin/teams/{team['id']}/members/{member}/remove",
                                data={"csrf_token": csrf_of(page)})
    assert removed.status_code == 303
    team = await _api_team(client, world, "team-shipka")
    assert team is not None and team["members"] == []
    again = await client.post(f"/admin/teams/{team['id']}/members/{member}/remove",
                              data={"csrf_token": csrf_of(page)})
    assert again.status_code == 422 and "Този човек вече не е в екипа" in again.text


async def test_bad_team_input_is_told_at_its_field_in_bulgarian(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, COORDINATOR)
    page = await client.get("/admin/teams")
    csrf = csrf_of(page)
    lead = str(await world.organisation_id("mun-kazanlak"))

    empty = await client.post("/admin/teams/new", data=_new_team(csrf, lead, name="  ", code="шипка"))
    assert empty.status_code == 422
    assert 'id="name-error"' in empty.text and "Въведете името на екипа" in empty.text
    assert 'aria-describedby="name-error"' in empty.text
    assert 'id="code-error"' in empty.text and "малки латински букви" in empty.text
    assert 'value="шипка"' in empty.text  # what was typed stays

    taken = await client.post("/admin/teams/new", data=_new_team(csrf, lead, code="team-kazanlak"))
    assert taken.status_code == 422 and "Вече има екип с този код" in taken.text and 'id="code-error"' in taken.text
    settlements = await client.post("/admin/teams/new", data=_new_team(csrf, lead, settlement_codes="Шипка"))
    assert settlements.status_code == 422 and 'id="settlement_codes-error"' in settlements.text
    elsewhere = str(await world.organisation_id("mun-lukovit"))
    led = await client.post("/admin/teams/new", data=_new_team(csrf, elsewhere))
    assert led.status_code == 422 and 'id="lead_organisation_id-error"' in led.text
    assert "Ръководещата организация не обслужва общината на екипа" in led.text
    assert await _api_team(client, world, "team-shipka") is None

    kazanlak = await team_id(client, await world.headers(COORDINATOR), "team-kazanlak")
    field = f"username-{kazanlak}"
    for typed, told, status in (
        ("", "Въведете потребителското име на човека, когото добавяте", 422),
        # an unknown name and an auditor's get one answer: the form tells no one which accounts exist
        ("Иван Петров", "Никой с това потребителско име не може да бъде включен в екип", 422),
        ("rue-lovech.auditor", "Никой с това потребителско име не може да бъде включен в екип", 422),
        ("police-kazanlak.police", "Този човек вече е в екипа", 409),
    ):
        answer = await client.post(f"/admin/teams/{kazanlak}/members", data={"csrf_token": csrf, "username": typed})
        assert answer.status_code == status, typed
        assert told in answer.text and f'id="{field}-error"' in answer.text, typed
        assert f'aria-describedby="{field}-hint {field}-error" aria-invalid="true"' in answer.text, typed
    members = (await _api_team(client, world, "team-kazanlak") or {})["members"]
    assert "rue-lovech.auditor" not in {m["username"] for m in members}

    refused = await client.post("/admin/teams/new", data=_new_team("", lead))
    assert refused.status_code == 403
    assert await _api_team(client, world, "team-shipka") is None


async def test_only_the_enrolment_leads_of_the_municipality_manage_its_teams(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    kazanlak = await team_id(client, await world.headers(COORDINATOR), "team-kazanlak")
    police = await _user_id(client, world, "police-kazanlak.police")
    # the regional education office manages the teams of its region too
    async with asgi_client(app) as officer:
        await sign_in(officer, "rue-stara-zagora.education")
        page = await officer.get("/admin/teams")
        assert page.status_code == 200 and "Екип за обхват – община Казанлък" in page.text
    for username in ("school-koprinka.staff", "provider-kazanlak.provider", "cp-kazanlak.cp", "platform.admin"):
        async with asgi_client(app) as console:
            start = await sign_in(console, username)
            assert 'href="/admin/teams"' not in start.text, username
            assert (await console.get("/admin/teams")).status_code == 403, username
            csrf = csrf_of(start)
            created = await console.post("/admin/teams/new", data=_new_team(csrf, str(uuid.uuid4())))
            assert created.status_code == 403, username
            removed = await console.post(f"/admin/teams/{kazanlak}/members/{police}/remove", data={"csrf_token": csrf})
            assert removed.status_code == 403, username
    # another municipality's coordinator neither sees nor changes Kazanlak's team
    async with asgi_client(app) as lukovit:
        await sign_in(lukovit, "mun-lukovit.municipal")
        page = await lukovit.get("/admin/teams")
        assert page.status_code == 200 and "община Казанлък" not in page.text
        removed = await lukovit.post(f"/admin/teams/{kazanlak}/members/{police}/remove",
                                     data={"csrf_token": csrf_of(page)})
        assert removed.status_code == 404
        added = await lukovit.post(f"/admin/teams/{kazanlak}/members",
                                   data={"csrf_token": csrf_of(page), "username": "cp-lukovit.cp"})
        assert added.status_code == 404
    members = {m["username"] for m in (await _api_team(client, world, "team-kazanlak") or {})["members"]}
    assert "police-kazanlak.police" in members and "cp-lukovit.cp" not in members


# --- assigning an alert -----------------------------------------------------------------------


async def _colleague(client: httpx.AsyncClient, world: World) -> str:
    """A second child protection officer in Kazanlak, added by the administrator: their id."""
    created = await client.post(
        "/api/v1/users", headers=await world.headers("platform.admin"),
        json={"username": COLLEAGUE, "password": "парола-за-демо-2026", "roles": ["cp_officer"],
              "organisation_id": str(await world.organisation_id("cp-kazanlak"))},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _koprinka_alert(client: httpx.AsyncClient, world: World) -> str:
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    return str((await raise_alert(client, teacher, child_id))["id"])


async def test_an_officer_gives_the_alert_to_a_colleague_who_finds_it_in_my_cases(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    colleague = await _colleague(client, world)
    alert_id = await _koprinka_alert(client, world)
    await sign_in(client, "cp-kazanlak.cp")
    page = await client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200 and "Възлагане" in page.text
    assert f'<option value="person:{colleague}">{COLLEAGUE}</option>' in page.text
    assert "team:" not in page.text  # child protection does not give cases to teams
    assert "auditor" not in page.text

    form = form_fields(page, f"/alerts/{alert_id}/assign")
    empty = await client.post(f"/alerts/{alert_id}/assign", data=form)
    assert empty.status_code == 422 and 'id="assignee-error"' in empty.text
    assert "Изберете човека или екипа, на когото възлагате сигнала" in empty.text
    unknown = await client.post(f"/alerts/{alert_id}/assign", data={**form, "assignee": f"person:{uuid.uuid4()}"})
    assert unknown.status_code == 422 and 'id="assignee-error"' in unknown.text
    assert "На този човек вече не може да се възлагат сигнали" in unknown.text
    garbled = await client.post(f"/alerts/{alert_id}/assign", data={**form, "assignee": "person:Иван"})
    assert garbled.status_code == 422 and 'id="assignee-error"' in garbled.text
    # a person of another organisation is refused as the API refuses it
    police = await _user_id(client, world, "police-kazanlak.police")
    other = await client.post(f"/alerts/{alert_id}/assign", data={**form, "assignee": f"person:{police}"})
    assert other.status_code == 403

    assigned = await client.post(f"/alerts/{alert_id}/assign", data={**form, "assignee": f"person:{colleague}"})
    assert assigned.status_code == 303 and assigned.headers["location"] == f"/alerts/{alert_id}?done=assigned"
    shown = await client.get(assigned.headers["location"])
    assert "Сигналът е възложен." in shown.text
    assert re.search(rf"Възложен на \(от вашата организация\)</dt><dd>{re.escape(COLLEAGUE)}</dd>", shown.text)
    api = await client.get(f"/api/v1/alerts/{alert_id}", headers=await world.headers("cp-kazanlak.cp"))
    assert api.json()["assignee_id"] == colleague

    # the form drawn before the assignment is out of date: nothing is overwritten
    stale = await client.post(f"/alerts/{alert_id}/assign", data={**form, "assignee": "person:" + await _user_id(
        client, world, "cp-kazanlak.cp")})
    assert stale.status_code == 409 and "Някой друг е променил сигнала" in stale.text
    api = await client.get(f"/api/v1/alerts/{alert_id}", headers=await world.headers("cp-kazanlak.cp"))
    assert api.json()["assignee_id"] == colleague

    async with asgi_client(app) as second:
        await sign_in(second, COLLEAGUE, "парола-за-демо-2026")
        cases = await second.get("/my/cases")
        assert cases.status_code == 200 and f'href="/alerts/{alert_id}"' in cases.text


async def test_who_may_not_assign_sees_no_form_and_is_refused(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    colleague = await _colleague(client, world)
    alert_id = await _koprinka_alert(client, world)
    cp = await world.headers("cp-kazanlak.cp")
    version = (await client.get(f"/api/v1/alerts/{alert_id}", headers=cp)).json()["version"]
    for username, status in (
        ("school-koprinka.staff", 403),  # the teacher who raised it reads it, but assigns nothing
        ("cp-lukovit.cp", 404),  # another department's officer does not see it at all
        ("provider-kazanlak.provider", 404),
    ):
        async with asgi_client(app) as console:
            start = await sign_in(console, username)
            page = await console.get(f"/alerts/{alert_id}")
            if page.status_code == 200:
                assert f"/alerts/{alert_id}/assign" not in page.text and "Възлагане" not in page.text, username
            answer = await console.post(
                f"/alerts/{alert_id}/assign",
                data={"csrf_token": csrf_of(start), "version": str(version), "assignee": f"person:{colleague}"},
            )
            assert answer.status_code == status, username
    assert (await client.get(f"/api/v1/alerts/{alert_id}", headers=cp)).json()["assignee_id"] is None
    # without the session's CSRF token nothing is assigned either
    await sign_in(client, "cp-kazanlak.cp")
    forged = await client.post(f"/alerts/{alert_id}/assign",
                               data={"version": str(version), "assignee": f"person:{colleague}"})
    assert forged.status_code == 403
    assert (await client.get(f"/api/v1/alerts/{alert_id}", headers=cp)).json()["assignee_id"] is None
    # a closed alert is given to nobody
    assert (await act(client, cp, alert_id, "acknowledge")).status_code == 200
    assert (await act(client, cp, alert_id, "close", {"outcome": "returned_to_school"})).status_code == 200
    closed = await client.get(f"/alerts/{alert_id}")
    assert closed.status_code == 200 and f"/alerts/{alert_id}/assign" not in closed.text


async def test_a_coordinator_gives_a_case_to_a_team_whose_members_find_it_in_my_cases(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    await import_kazanlak_list(client, world)
    coordinator = await world.headers(COORDINATOR)
    listed = await client.get("/api/v1/alerts", params={"type": "not_enrolled"}, headers=coordinator)
    case = next(a for a in listed.json()["items"] if a["settlement_code"] == "38488")
    kazanlak = await team_id(client, coordinator, "team-kazanlak")
    await sign_in(client, COORDINATOR)
    page = await client.get(f"/alerts/{case['id']}")
    assert page.status_code == 200
    assert f'<option value="team:{kazanlak}">Екип за обхват – община Казанлък</option>' in page.text
    form = form_fields(page, f"/alerts/{case['id']}/assign")
    assigned = await client.post(f"/alerts/{case['id']}/assign", data={**form, "assignee": f"team:{kazanlak}"})
    assert assigned.status_code == 303, assigned.text
    shown = await client.get(assigned.headers["location"])
    assert "Екип за обхват</dt><dd>Екип за обхват – община Казанлък</dd>" in shown.text
    assert (await client.get(f"/api/v1/alerts/{case['id']}", headers=coordinator)).json()["team_id"] == kazanlak
    async with asgi_client(app) as member:
        await sign_in(member, "school-koprinka.staff")  # a teacher on the team
        cases = await member.get("/my/cases")
        assert f'href="/alerts/{case["id"]}"' in cases.text
    # a team of another municipality is refused as the API refuses it
    lukovit = await team_id(client, await world.headers("mun-lukovit.municipal"), "team-lukovit")
    page = await client.get(f"/alerts/{case['id']}")
    other = await client.post(f"/alerts/{case['id']}/assign",
                              data={**form_fields(page, f"/alerts/{case['id']}/assign"), "assignee": f"team:{lukovit}"})
    assert other.status_code == 403
