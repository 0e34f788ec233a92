"""The authorization matrix walked through the console's read pages: for each role of the demo,
every demo user of that role sees on the console exactly what the API shows them, never more.

The scenario, built through the API as the people would:

- alert A: school-koprinka.staff flags a Koprinka pupil (unexcused absences) → cp-kazanlak (lead)
  and mun-kazanlak; cp-kazanlak records a note only agencies may read, then the guardian's consent
  and a referral to provider-kazanlak;
- alert B: mun-kazanlak cannot find another Koprinka pupil (whereabouts unknown) → police-kazanlak;
- alert C: school-lukovit-1.staff flags a Lukovit pupil → the Lukovit agencies;
- and a Kazanlak pupil nobody has flagged.

For every user of the role, the console's pages are compared with the API's answers to the same
person: the alerts linked from `/alerts` are the API's alert list, those on `/inbox` are among them;
every child linked from any page is one the API lets them read; each alert page and child page
answers as the API does (a page the API refuses is the same refusal: a 404 page for an unrelated
record, 403 for a role that may not read at all), and writes the same `deny` audit event; a note
the API hides from them is not on the page; the pupil search finds exactly the pupils the API's
lookup finds; the audit trail page shows only events the API's search shows them; the teams page
shows exactly the teams the API lists to them; the list upload page opens exactly for those the
API lets send a list, each report page answers each municipality as the API's report does, and
the menu offers a page only to those it opens for."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from service.access.vocabulary import ACTION_ROLES, Action
from service.audit.models import AuditEvent
from service.core.clock import local_today
from service.demo.loader import DEFAULT_DEMO_FILE, MECHANISM_DEMO_FILE
from tests.alerts.helpers import act, pupil_id, raise_alert
from tests.conftest import World, asgi_client
from tests.web.helpers import csrf_of, sign_in

DEMO = json.loads(DEFAULT_DEMO_FILE.read_text(encoding="utf-8"))
# the mechanism's part of the demo (the regional education officer) is loaded with it
DEMO["users"] += json.loads(MECHANISM_DEMO_FILE.read_text(encoding="utf-8"))["users"]
ROLES = sorted({role for user in DEMO["users"] for role in user["roles"]})
DEMO_ROLES = {user["username"]: frozenset(user["roles"]) for user in DEMO["users"]}
#: who may ask whether child protection knows a child (DESIGN §4 point 7)
ASKERS = frozenset(role.value for role in ACTION_ROLES[Action.ask_known_to_cp])
MUNICIPALITIES = ("LOV19", "SZR12", "VID33")
#: console report page → the API's report
REPORTS = {"/reports": "/api/v1/reports/summary", "/reports/mechanism": "/api/v1/reports/mechanism"}
PUPILS = {"a": "1152035081", "b": "1547262167", "c": "1741096847", "unflagged": "1552049639"}
NOTE = "Бележка-само-за-агенциите-7731"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ALERT_LINK = re.compile(rf'href="/alerts/({UUID})"')
CHILD_LINK = re.compile(rf'href="/children/({UUID})"')
TEAM_SECTION = re.compile(rf'<h2 id="team-({UUID})">')


@dataclass
class Scenario:
    alerts: dict[str, str]  # a, b, c -> alert id
    children: dict[str, str]  # a, b, c, unflagged -> child id
    names: dict[str, str]  # a, b, c, unflagged -> the child's family name


async def _build(client: httpx.AsyncClient, world: World) -> Scenario:
    koprinka = await world.headers("school-koprinka.staff")
    lukovit = await world.headers("school-lukovit-1.staff")
    cp = await world.headers("cp-kazanlak.cp")
    children = {
        "a": await pupil_id(client, koprinka, PUPILS["a"]),
        "b": await pupil_id(client, koprinka, PUPILS["b"]),
        "c": await pupil_id(client, lukovit, PUPILS["c"]),
        "unflagged": await pupil_id(client, await world.headers("school-kazanlak.staff"), PUPILS["unflagged"]),
    }
    a = (await raise_alert(client, koprinka, children["a"]))["id"]
    assert (await act(client, cp, a, "acknowledge")).status_code == 200
    noted = await act(client, cp, a, "actions", {"kind": "note", "text": NOTE})
    assert noted.status_code == 200, noted.text
    provider = str(await world.organisation_id("provider-kazanlak"))
    today = local_today()
    consent = await client.post(
        f"/api/v1/children/{children['a']}/consents", headers=cp,
        json={"guardian_name": "Майка на детето", "guardian_relationship": "mother",
              "purposes": ["support_services"], "recipient_ids": [provider],
              "valid_from": str(today - timedelta(days=1)), "valid_until": str(today + timedelta(days=200)),
              "evidence": "вх. № 42/2026"},
    )
    assert consent.status_code == 201, consent.text
    referred = await act(client, cp, a, "actions", {"kind": "referral", "recipient_id": provider})
    assert referred.status_code == 200, referred.text
    b = await client.post(
        "/api/v1/alerts", headers=await world.headers("mun-kazanlak.municipal"),
        json={"child_id": children["b"], "type": "whereabouts_unknown", "severity": "urgent",
              "details": {"field_visit_result": "not_found"}},
    )
    assert b.status_code == 201, b.text
    c = (await raise_alert(client, lukovit, children["c"]))["id"]
    names = {
        name: (await client.get(f"/api/v1/children/{child_id}", headers=cp if name != "c" else lukovit)).json()[
            "family_name"]
        for name, child_id in children.items()
    }
    return Scenario(alerts={"a": a, "b": b.json()["id"], "c": c}, children=children, names=names)


def _denial(event: AuditEvent) -> tuple[Any, ...]:
    return (event.actor_id, event.action, event.resource_type, event.resource_id, event.child_id, event.reason)


async def _denials_of(
    world: World, call: Callable[[], Awaitable[httpx.Response]]
) -> tuple[httpx.Response, list[tuple[Any, ...]]]:
    """The answer of a call, and the `deny` audit events it wrote."""
    async with world.database.transaction() as session:
        before = (await session.execute(select(func.coalesce(func.max(col(AuditEvent.seq)), 0)))).scalar_one()
    answer = await call()
    async with world.database.transaction() as session:
        rows = await session.execute(
            select(AuditEvent)
            .where(col(AuditEvent.seq) > before, col(AuditEvent.decision) == "deny")
            .order_by(col(AuditEvent.seq))
        )
        return answer, [_denial(event) for event in rows.scalars()]


def _ids(pattern: re.Pattern[str], page: httpx.Response) -> set[str]:
    return set(pattern.findall(page.text))


async def _api_ids(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> tuple[int, set[str]]:
    answer = await client.get(path, params={"limit": 100}, headers=headers)
    if answer.status_code != 200:
        return answer.status_code, set()
    body = answer.json()
    alerts = [item.get("alert") or item for item in body["items"]] + body.get("overdue", [])
    return 200, {alert["id"] for alert in alerts if alert and "id" in alert}


async def _walk(app: Any, client: httpx.AsyncClient, world: World, scenario: Scenario, username: str) -> None:
    api = await world.headers(username)
    readable_children = {
        child_id for child_id in scenario.children.values()
        if (await client.get(f"/api/v1/children/{child_id}", headers=api)).status_code == 200
    }
    list_status, api_alerts = await _api_ids(client, "/api/v1/alerts", api)

    async with asgi_client(app) as console:
        await sign_in(console, username)
        shown_children: set[str] = set()

        listed = await console.get("/alerts")
        assert listed.status_code == list_status, (username, "/alerts")
        assert _ids(ALERT_LINK, listed) == api_alerts, (username, "/alerts lists other alerts than the API")
        shown_children |= _ids(CHILD_LINK, listed)

        inbox = await console.get("/inbox")
        inbox_status, api_inbox = await _api_ids(client, "/api/v1/inbox", api)
        assert inbox.status_code == inbox_status, (username, "/inbox")
        assert _ids(ALERT_LINK, inbox) <= api_alerts, (username, "/inbox shows an alert the API does not")
        assert _ids(ALERT_LINK, inbox) == api_inbox, (username, "/inbox shows other alerts than the API's inbox")
        shown_children |= _ids(CHILD_LINK, inbox)

        for name, alert_id in scenario.alerts.items():
            through_api, api_denials = await _denials_of(
                world, partial(client.get, f"/api/v1/alerts/{alert_id}", headers=api)
            )
            page, page_denials = await _denials_of(world, partial(console.get, f"/alerts/{alert_id}"))
            assert page.status_code == through_api.status_code, (username, "alert", name)
            assert page_denials == api_denials, (username, "alert", name, "audited differently")
            if page.status_code == 200:
                assert (NOTE in page.text) == (NOTE in through_api.text), (username, "alert", name, "the note")
                shown_children |= _ids(CHILD_LINK, page)
            else:
                assert alert_id not in page.text.replace(f"/alerts/{alert_id}", "")
                assert page_denials, (username, "alert", name, "a refusal was not audited")
                if page.status_code == 404:
                    assert "Страницата не е намерена" in page.text

        for name, child_id in scenario.children.items():
            # the child page is the child's record and, beside it, its timeline: two API calls
            timelines: list[httpx.Response] = []

            async def child_and_history(
                child_id: str = child_id, timelines: list[httpx.Response] = timelines
            ) -> httpx.Response:
                record = await client.get(f"/api/v1/children/{child_id}", headers=api)
                if record.status_code == 200:
                    timelines.append(await client.get(f"/api/v1/children/{child_id}/history", headers=api))
                return record

            through_api, api_denials = await _denials_of(world, child_and_history)
            page, page_denials = await _denials_of(world, partial(console.get, f"/children/{child_id}"))
            assert page.status_code == through_api.status_code, (username, "child", name)
            assert page_denials == api_denials, (username, "child", name, "audited differently")
            if page.status_code == 200:
                assert through_api.json()["family_name"] in page.text
                if timelines[0].status_code != 200:
                    assert not ALERT_LINK.findall(page.text), (username, "child", name, "a refused timeline shown")
                else:
                    on_timeline = {str(entry["alert_id"]) for entry in timelines[0].json()["entries"]}
                    assert _ids(ALERT_LINK, page) <= on_timeline, (username, "child", name, "an alert off the timeline")
                shown_children |= _ids(CHILD_LINK, page)
            else:
                assert page_denials, (username, "child", name, "a refusal was not audited")

        police = any(role == "police_officer" for role in DEMO_ROLES[username])
        for name, child_id in scenario.children.items():
            # the alert form names the child only for those the API lets read it; police may raise
            # `found_out_of_school` about a child of their area, on a form that names nobody
            form = await console.get("/alerts/new", params={"child": child_id, "type": "found_out_of_school"})
            record = await client.get(f"/api/v1/children/{child_id}", headers=api)
            if record.status_code == 200:
                assert form.status_code == 200 and record.json()["family_name"] in form.text, (username, name)
            else:
                assert form.status_code in ((200, 404) if police else (record.status_code,)), (username, name)
                assert scenario.names[name] not in form.text, (username, name, "the form names a child it may not")
            assert not ({c for c in scenario.children.values() if c != child_id} & _ids(CHILD_LINK, form))

        asking = await console.get("/children/known-to-cp")
        may_ask = bool(DEMO_ROLES[username] & ASKERS)
        assert asking.status_code == (200 if may_ask else 403), (username, "/children/known-to-cp")

        for name, pin in PUPILS.items():
            through_api = await client.post("/api/v1/children/lookup", json={"pin": pin}, headers=api)
            form = await console.get("/children/search")
            found = await console.post("/children/search", data={"pin": pin, "csrf_token": csrf_of(form)})
            if through_api.status_code == 200 and police:
                # police see the identity the lookup answers on the search page itself, no link further
                assert found.status_code == 200, (username, "search", name)
                assert through_api.json()["current_enrolment"] is None
                assert through_api.json()["family_name"] in found.text
                assert not CHILD_LINK.findall(found.text), (username, "search", name, "a link to the child page")
            elif through_api.status_code == 200:
                assert found.status_code == 303, (username, "search", name)
                assert found.headers["location"] == f"/children/{through_api.json()['id']}"
            else:
                assert found.status_code == through_api.status_code, (username, "search", name)
                assert pin not in found.text.replace(f'value="{pin}"', "")

        trail = await console.get("/audit", params={"child": scenario.children["a"]})
        api_trail = await client.get(
            "/api/v1/audit/events", params={"child_id": scenario.children["a"], "limit": 200}, headers=api
        )
        assert trail.status_code == api_trail.status_code, (username, "/audit")
        if trail.status_code == 200:
            shown = {int(re.sub(r"\D", "", cell)) for cell in re.findall(r"<tr>\s*<td>([^<]+)</td>", trail.text)}
            assert shown and shown <= {event["seq"] for event in api_trail.json()["items"]}, (username, "/audit")

        through_api, api_denials = await _denials_of(world, partial(client.get, "/api/v1/teams", headers=api))
        teams, page_denials = await _denials_of(world, partial(console.get, "/admin/teams"))
        assert teams.status_code == through_api.status_code, (username, "/admin/teams")
        assert page_denials == api_denials, (username, "/admin/teams", "audited differently")
        if teams.status_code == 200:
            api_teams = {team["id"] for team in through_api.json()["items"]}
            assert _ids(TEAM_SECTION, teams) == api_teams, (username, "/admin/teams shows other teams than the API")

        assert shown_children <= readable_children, (username, "a page links a child the API refuses")

        menu = (await console.get("/")).text.split("<main", 1)[0]
        # the list upload: the API decides before it reads the body, so an empty one is refused
        # (403) or found wanting (422), never imported
        api_list = await client.post("/api/v1/worklists/csv", content=b"", headers={**api, "Content-Type": "text/csv"})
        assert api_list.status_code in (403, 422), (username, api_list.status_code)
        upload = await console.get("/worklists")
        assert upload.status_code == (403 if api_list.status_code == 403 else 200), (username, "/worklists")
        assert ('href="/worklists"' in menu) == (upload.status_code == 200), (username, "menu: /worklists")

        for page_path, api_path in REPORTS.items():
            opened = False
            for code in MUNICIPALITIES:
                through_api = await client.get(api_path, params={"municipality": code}, headers=api)
                page = await console.get(page_path, params={"municipality": code})
                assert page.status_code == through_api.status_code, (username, page_path, code)
                opened = opened or page.status_code == 200
            assert (f'href="{page_path}"' in menu) == opened, (username, "menu:", page_path)


@pytest.mark.parametrize("role", ROLES)
async def test_console_pages_show_each_role_only_what_the_api_shows(
    app: Any, client: httpx.AsyncClient, world: World, role: str
) -> None:
    scenario = await _build(client, world)
    users = [user["username"] for user in DEMO["users"] if role in user["roles"]]
    assert users
    for username in users:
        await _walk(app, client, world, scenario, username)
