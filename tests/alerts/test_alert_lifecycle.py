"""An alert's life over HTTP (DESIGN §3, §4.6, §6, §7, §8): details checked per type, routing,
acknowledging and acting under If-Match, closing by the lead, lists and the inbox feed, and who
sees which actions."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, by_organisation, current_etag, pupil_id, raise_alert
from tests.core.helpers import assert_problem, pointers


@pytest.fixture
async def people(world):
    """Headers of everyone around a Копринка pupil, and organisation ids."""

    class People:
        pass

    p = People()
    p.world = world
    p.teacher = await world.headers("school-koprinka.staff")
    p.cp = await world.headers("cp-kazanlak.cp")
    p.municipal = await world.headers("mun-kazanlak.municipal")
    p.police = await world.headers("police-kazanlak.police")
    p.cp_id = str(await world.organisation_id("cp-kazanlak"))
    p.mun_id = str(await world.organisation_id("mun-kazanlak"))
    p.police_id = str(await world.organisation_id("police-kazanlak"))
    p.school_id = str(await world.organisation_id("school-koprinka"))
    return p


@pytest.fixture
async def child_id(client, people):
    return await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[0])


async def _alert_count(client, headers, child_id) -> int:
    response = await client.get("/api/v1/alerts", params={"child_id": child_id}, headers=headers)
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


# --- details per type ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alert_type", "details", "pointer"),
    [
        ("unexcused_absences", {"unexcused_hours": 12}, "#/details/month"),
        # neither hours (a school) nor days (a kindergarten): the details as a whole are wrong
        ("unexcused_absences", {"month": "2026-10"}, "#/details"),
        ("unexcused_absences", {"month": "2026-10", "unexcused_hours": 301}, "#/details/unexcused_hours"),
        ("unexcused_absences", {"month": "2026-10", "unexcused_hours": -1}, "#/details/unexcused_hours"),
        ("unexcused_absences", {"month": "2026-13", "unexcused_hours": 12}, "#/details/month"),
        ("unexcused_absences", {"month": "10.2026", "unexcused_hours": 12}, "#/details/month"),
        ("unexcused_absences", {"month": "2026-10", "unexcused_hours": 12, "colour": "red"}, "#/details/colour"),
        ("not_enrolled", {}, "#/details/school_year"),
        ("dropout_risk", {"indicators": ["astrology"]}, "#/details/indicators/0"),
        ("left_education", {"left_on": "yesterday"}, "#/details/left_on"),
    ],
)
async def test_details_are_checked_against_the_schema_of_their_type(
    client, people, child_id, alert_type, details, pointer
):
    response = await client.post(
        "/api/v1/alerts",
        json={"child_id": child_id, "type": alert_type, "details": details},
        headers=people.teacher,
    )
    body = assert_problem(response, 422)
    assert pointer in pointers(body), body
    assert await _alert_count(client, people.teacher, child_id) == 0


async def test_unexcused_hours_at_the_limit_of_300_are_accepted(client, people, child_id):
    alert = await raise_alert(
        client, people.teacher, child_id, details={"month": "2026-10", "unexcused_hours": 300}
    )
    assert alert["details"] == {"month": "2026-10", "unexcused_hours": 300}


# --- routing ------------------------------------------------------------------------------------


async def test_suspected_abuse_is_always_urgent_and_goes_to_child_protection_and_police(client, people, child_id):
    alert = await raise_alert(
        client, people.teacher, child_id, "abuse_or_neglect_suspected", severity="concern",
        details={"immediate_danger": True},
    )
    assert alert["severity"] == "urgent"
    assert alert["legal_basis"] == "legal_obligation"
    assert alert["municipality_code"] == "SZR12"
    recipients = by_organisation(alert)
    assert set(recipients) == {people.cp_id, people.police_id}
    assert recipients[people.cp_id]["lead"] is True
    assert recipients[people.police_id]["lead"] is False
    assert all(r["state"] == "delivered" for r in recipients.values())

    stored = await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.police)
    assert stored.status_code == 200, stored.text
    assert stored.json()["severity"] == "urgent"
    # the municipality follows enrolment matters, not suspected abuse
    assert_problem(await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.municipal), 404)
    # nor does another municipality's child protection see it
    other_cp = await client.get(f"/api/v1/alerts/{alert['id']}", headers=await people.world.headers("cp-lukovit.cp"))
    assert_problem(other_cp, 404)


# --- If-Match, acknowledge, act, close -----------------------------------------------------------


async def test_the_etag_of_an_alert_is_its_quoted_version(client, people, child_id):
    alert = await raise_alert(client, people.teacher, child_id)
    for headers in (people.teacher, people.cp, people.municipal):
        response = await client.get(f"/api/v1/alerts/{alert['id']}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    assert alert["version"] == 1

    acknowledged = await act(client, people.cp, alert["id"], "acknowledge")
    assert acknowledged.json()["version"] == 2
    reread = await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.teacher)
    assert reread.headers["ETag"] == '"2"' == acknowledged.headers["ETag"]


async def test_acknowledging_needs_the_current_etag_in_if_match(client, people, child_id):
    alert = await raise_alert(client, people.teacher, child_id)
    url = f"/api/v1/alerts/{alert['id']}/acknowledge"

    missing = await client.post(url, headers=people.cp)
    body = assert_problem(missing, 428)
    assert "If-Match" in body["detail"]

    for stale in ('"0"', '"2"', '"999"', "garbage"):
        assert_problem(await client.post(url, headers={**people.cp, "If-Match": stale}), 412)

    # none of the refused attempts changed anything
    etag = await current_etag(client, people.cp, alert["id"])
    assert etag == '"1"'

    done = await client.post(url, headers={**people.cp, "If-Match": etag})
    assert done.status_code == 200, done.text
    assert done.headers["ETag"] == '"2"'
    mine = by_organisation(done.json())[people.cp_id]
    assert mine["state"] == "acknowledged" and mine["acknowledged_at"] is not None
    assert by_organisation(done.json())[people.mun_id]["state"] == "delivered"

    # the old ETag is stale now
    assert_problem(await client.post(url, headers={**people.cp, "If-Match": etag}), 412)
    # and with the new one, a second acknowledgement is a conflict
    twice = await client.post(url, headers={**people.cp, "If-Match": done.headers["ETag"]})
    assert_problem(twice, 409)


async def test_a_weak_etag_in_if_match_is_understood(client, people, child_id):
    alert = await raise_alert(client, people.teacher, child_id)
    response = await client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge", headers={**people.cp, "If-Match": 'W/"1"'}
    )
    assert response.status_code == 200, response.text


async def test_only_recipients_respond_to_an_alert(client, people, child_id):
    alert = await raise_alert(client, people.teacher, child_id)
    # the school that raised it may follow it, not work it
    assert_problem(
        await client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers={**people.teacher, "If-Match": '"1"'}),
        403,
    )
    # police got nothing here: existence is not revealed
    assert_problem(
        await client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers={**people.police, "If-Match": '"1"'}),
        404,
    )
    assert await current_etag(client, people.cp, alert["id"]) == '"1"'


async def test_a_field_visit_needs_a_result_and_other_actions_have_none(client, people, child_id):
    alert = await raise_alert(client, people.teacher, child_id)
    no_result = await act(
        client, people.municipal, alert["id"], "actions", {"kind": "field_visit", "text": "Посещение"}
    )
    assert_problem(no_result, 422)
    result_on_a_call = await act(
        client, people.municipal, alert["id"], "actions", {"kind": "contact_family", "result": "not_found"}
    )
    assert_problem(result_on_a_call, 422)
    unknown_result = await act(
        client, people.municipal, alert["id"], "actions", {"kind": "field_visit", "result": "on_holiday"}
    )
    assert pointers(assert_problem(unknown_result, 422)) == ["#/result"]
    assert await current_etag(client, people.cp, alert["id"]) == '"1"'

    visited = await act(
        client, people.municipal, alert["id"], "actions", {"kind": "field_visit", "result": "family_moved"}
    )
    assert visited.status_code == 200, visited.text
    [action] = visited.json()["actions"]
    assert (action["kind"], action["result"]) == ("field_visit", "family_moved")
    assert action["organisation_id"] == people.mun_id
    assert by_organisation(visited.json())[people.mun_id]["state"] == "in_progress"


async def test_closing_with_outcome_other_needs_a_reason(client, people, child_id):
    alert = await raise_alert(client, people.teacher, child_id)
    for body in ({"outcome": "other"}, {"outcome": "other", "reason": "   "}):
        assert_problem(await act(client, people.cp, alert["id"], "close", body), 422)
    assert_problem(await act(client, people.cp, alert["id"], "close", {"outcome": "forgotten"}), 422)
    assert_problem(await act(client, people.cp, alert["id"], "close", {}), 422)
    still_open = await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.cp)
    assert still_open.json()["status"] == "open"

    reason = "Семейството се премести в чужбина без адрес."
    closed = await act(client, people.cp, alert["id"], "close", {"outcome": "other", "reason": reason})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["outcome"] == "other"
    assert closed.json()["outcome_reason"] == reason


async def test_the_alert_closes_only_when_the_lead_recipient_closes_it(client, people, child_id):
    alert = await raise_alert(client, people.teacher, child_id)
    assert by_organisation(alert)[people.cp_id]["lead"] is True

    municipal_done = await act(client, people.municipal, alert["id"], "close", {"outcome": "returned_to_school"})
    assert municipal_done.status_code == 200, municipal_done.text
    assert municipal_done.json()["status"] == "open"
    assert municipal_done.json()["outcome"] is None
    mine = by_organisation(municipal_done.json())[people.mun_id]
    assert (mine["state"], mine["outcome"]) == ("done", "returned_to_school")
    # a recipient that finished its part cannot finish it again
    assert_problem(await act(client, people.municipal, alert["id"], "close", {"outcome": "unfounded"}), 409)

    school_view = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.teacher)).json()
    assert school_view["status"] == "open"

    lead_done = await act(client, people.cp, alert["id"], "close", {"outcome": "protective_measure"})
    assert lead_done.status_code == 200, lead_done.text
    assert lead_done.json()["status"] == "closed"
    assert lead_done.json()["closed_at"] is not None

    school_view = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.teacher)).json()
    assert school_view["status"] == "closed"
    assert school_view["outcome"] == "protective_measure"
    assert {r["organisation_id"]: r["state"] for r in school_view["recipients"]} == {
        people.cp_id: "done", people.mun_id: "done",
    }


async def test_nothing_more_happens_to_a_closed_alert(client, people, child_id):
    alert = await raise_alert(client, people.teacher, child_id)
    closed = await act(client, people.cp, alert["id"], "close", {"outcome": "unfounded"})
    assert closed.status_code == 200, closed.text
    version = closed.json()["version"]

    attempts = [
        (people.municipal, "acknowledge", None),
        (people.municipal, "actions", {"kind": "note", "text": "Късно"}),
        (people.cp, "actions", {"kind": "meeting"}),
        (people.municipal, "close", {"outcome": "returned_to_school"}),
        (people.cp, "close", {"outcome": "returned_to_school"}),
    ]
    for headers, step, body in attempts:
        assert_problem(await act(client, headers, alert["id"], step, body), 409)
    final = await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.cp)
    assert final.json()["version"] == version
    assert final.json()["outcome"] == "unfounded"
    assert final.json()["actions"] == []


# --- lists --------------------------------------------------------------------------------------


@pytest.fixture
async def four_alerts(client, people):
    """Four alerts about two Копринка pupils, raised in this order; the second is closed."""
    first_child = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[0])
    second_child = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[1])
    raised = [
        await raise_alert(client, people.teacher, first_child),
        await raise_alert(client, people.teacher, second_child, details={"month": "2026-10", "unexcused_hours": 7}),
        await raise_alert(client, people.teacher, first_child, "abuse_or_neglect_suspected", details={}),
        await raise_alert(client, people.teacher, second_child, "dropout_risk", severity="info",
                          details={"indicators": ["absences"]}),
    ]
    closed = await act(client, people.cp, raised[1]["id"], "close", {"outcome": "returned_to_school"})
    assert closed.status_code == 200, closed.text
    return {"alerts": [a["id"] for a in raised], "children": (first_child, second_child)}


async def _listed(client, headers, **params) -> list[str]:
    response = await client.get("/api/v1/alerts", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_alert_lists_filter_by_status_type_severity_and_child(client, people, four_alerts):
    a, b, c, d = four_alerts["alerts"]
    first_child, second_child = four_alerts["children"]

    assert await _listed(client, people.cp) == [d, c, b, a]  # newest first
    assert await _listed(client, people.cp, status="closed") == [b]
    assert await _listed(client, people.cp, status="open") == [d, c, a]
    assert await _listed(client, people.cp, type="unexcused_absences") == [b, a]
    assert await _listed(client, people.cp, type="dropout_risk") == [d]
    assert await _listed(client, people.cp, severity="urgent") == [c]
    assert await _listed(client, people.cp, severity="info") == [d]
    assert await _listed(client, people.cp, child_id=first_child) == [c, a]
    assert await _listed(client, people.cp, child_id=second_child, status="open") == [d]
    assert await _listed(client, people.cp, child_id=str(uuid.uuid4())) == []
    # each organisation lists only what it may see
    assert await _listed(client, people.police) == [c]
    assert set(await _listed(client, people.municipal)) == {a, b, d}
    assert await _listed(client, await people.world.headers("school-kazanlak.staff")) == []

    for bad in ({"status": "pending"}, {"type": "truancy"}, {"severity": "critical"}, {"child_id": "abc"},
                {"limit": 0}, {"limit": 201}):
        response = await client.get("/api/v1/alerts", params=bad, headers=people.cp)
        body = assert_problem(response, 422)
        assert [e.get("parameter") for e in body["errors"]] == list(bad), body


async def test_keyset_pages_of_one_walk_every_alert_once_with_link_headers(client, people, four_alerts):
    url = "/api/v1/alerts?limit=1"
    seen: list[str] = []
    for _ in range(10):
        response = await client.get(url, headers=people.cp)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 1
        seen.extend(item["id"] for item in page["items"])
        if page["next"] is None:
            assert "Link" not in response.headers
            break
        link = response.headers["Link"]
        match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
        assert match, link
        assert f"after={page['next']}" in match.group(1) and "limit=1" in match.group(1)
        url = match.group(1)
    else:
        pytest.fail("paging did not end")
    assert seen == list(reversed(four_alerts["alerts"]))
    assert len(seen) == len(set(seen))


async def test_paging_keeps_the_filters(client, people, four_alerts):
    a, b, _, _ = four_alerts["alerts"]
    first = await client.get("/api/v1/alerts", params={"type": "unexcused_absences", "limit": 1}, headers=people.cp)
    assert [i["id"] for i in first.json()["items"]] == [b]
    second = await client.get(re.fullmatch(r"<([^>]+)>.*", first.headers["Link"]).group(1), headers=people.cp)
    assert [i["id"] for i in second.json()["items"]] == [a]
    assert second.json()["next"] is None


async def test_a_malformed_list_cursor_is_a_422(client, people):
    for cursor in ("not a cursor", "!!!", "WyJ4Il0", "e30"):
        response = await client.get("/api/v1/alerts", params={"after": cursor}, headers=people.cp)
        body = assert_problem(response, 422)
        assert body["errors"][0]["parameter"] == "after"


# --- the inbox ----------------------------------------------------------------------------------


async def test_the_inbox_always_answers_a_next_cursor_even_when_empty(client, world):
    police = await world.headers("police-lukovit.police")
    first = await client.get("/api/v1/inbox", headers=police)
    assert first.status_code == 200, first.text
    assert first.json()["items"] == []
    assert isinstance(first.json()["next"], str) and first.json()["next"]

    again = await client.get("/api/v1/inbox", params={"after": first.json()["next"]}, headers=police)
    assert again.status_code == 200, again.text
    assert again.json()["items"] == []
    assert again.json()["next"] == first.json()["next"]


async def test_polling_the_inbox_after_next_returns_only_what_changed_once(client, people):
    first_child = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[0])
    second_child = await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[1])
    one = await raise_alert(client, people.teacher, first_child)
    two = await raise_alert(client, people.teacher, second_child)

    start = (await client.get("/api/v1/inbox", headers=people.cp)).json()
    assert [item["alert"]["id"] for item in start["items"]] == [one["id"], two["id"]]
    quiet = (await client.get("/api/v1/inbox", params={"after": start["next"]}, headers=people.cp)).json()
    assert quiet["items"] == [] and quiet["next"] == start["next"]

    # the municipality records a visit on the first alert: the change reaches child protection
    visited = await act(client, people.municipal, one["id"], "actions", {"kind": "field_visit", "result": "not_found"})
    assert visited.status_code == 200, visited.text

    changed = (await client.get("/api/v1/inbox", params={"after": start["next"]}, headers=people.cp)).json()
    assert [item["alert"]["id"] for item in changed["items"]] == [one["id"]]
    [item] = changed["items"]
    assert item["kind"] == "alert"
    assert item["alert"]["version"] == 2
    assert by_organisation(item["alert"])[people.mun_id]["state"] == "in_progress"
    assert changed["next"] != start["next"]

    after_that = (await client.get("/api/v1/inbox", params={"after": changed["next"]}, headers=people.cp)).json()
    assert after_that["items"] == []
    assert after_that["next"] == changed["next"]

    # the school that raised the alerts has no inbox of them; police got none of these
    police_inbox = (await client.get("/api/v1/inbox", headers=people.police)).json()
    assert police_inbox["items"] == []


async def test_a_malformed_inbox_cursor_is_a_422(client, people):
    for cursor in ("garbage!", "WyJ4Il0", "Wy0xXQ", "W3RydWVd", "e30", "x" * 501):
        response = await client.get("/api/v1/inbox", params={"after": cursor}, headers=people.cp)
        body = assert_problem(response, 422)
        assert body["errors"][0]["parameter"] == "after", body


# --- field visibility (DESIGN §4 point 6) -------------------------------------------------------


def _action_texts(alert: dict) -> set[str]:
    return {a["text"] for a in alert["actions"]}


async def test_a_restricted_action_is_seen_by_its_author_and_child_protection_only(client, people, child_id):
    alert = await raise_alert(client, people.teacher, child_id)
    restricted = await act(
        client, people.municipal, alert["id"], "actions",
        {"kind": "note", "text": "Бащата е с наложена мярка.", "restricted": True},
    )
    assert restricted.status_code == 200, restricted.text
    assert _action_texts(restricted.json()) == {"Бащата е с наложена мярка."}

    seen = {}
    for name, headers in (("municipal", people.municipal), ("cp", people.cp), ("school", people.teacher)):
        response = await client.get(f"/api/v1/alerts/{alert['id']}", headers=headers)
        assert response.status_code == 200, response.text
        seen[name] = _action_texts(response.json())
        if name == "school":
            assert "Бащата" not in response.text
    assert seen == {"municipal": {"Бащата е с наложена мярка."}, "cp": {"Бащата е с наложена мярка."}, "school": set()}


async def test_an_agency_action_is_seen_by_other_recipients_but_not_by_the_school(client, people, child_id):
    alert = await raise_alert(client, people.teacher, child_id)
    noted = await act(
        client, people.cp, alert["id"], "actions", {"kind": "contact_family", "text": "Разговор с майката."}
    )
    assert noted.status_code == 200, noted.text

    municipal = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.municipal)).json()
    assert _action_texts(municipal) == {"Разговор с майката."}
    school = await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.teacher)
    assert school.json()["actions"] == []
    assert "Разговор с майката." not in school.text
    # the school still sees that child protection is working on it
    assert by_organisation(school.json())[people.cp_id]["state"] == "in_progress"
    assert by_organisation(school.json())[people.cp_id]["acknowledged_at"] is not None

    listed = (await client.get("/api/v1/alerts", params={"child_id": child_id}, headers=people.teacher)).json()
    assert [a["actions"] for a in listed["items"]] == [[]]


async def test_child_history_shows_the_timeline_to_child_protection_and_hides_actions_from_the_school(
    client, people, child_id
):
    alert = await raise_alert(client, people.teacher, child_id)
    assert (await act(client, people.cp, alert["id"], "acknowledge")).status_code == 200
    acted = await act(client, people.cp, alert["id"], "actions", {"kind": "meeting", "text": "Среща в отдела."})
    assert acted.status_code == 200, acted.text
    closed = await act(client, people.cp, alert["id"], "close", {"outcome": "returned_to_school"})
    assert closed.status_code == 200, closed.text

    cp_history = await client.get(f"/api/v1/children/{child_id}/history", headers=people.cp)
    assert cp_history.status_code == 200, cp_history.text
    entries = cp_history.json()["entries"]
    assert cp_history.json()["child_id"] == child_id
    assert [e["event"] for e in entries] == ["alert_raised", "acknowledged", "action", "alert_closed"]
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    assert all(e["alert_id"] == alert["id"] for e in entries)
    raised, acknowledged, action, closed_entry = entries
    assert raised["organisation_id"] == people.school_id
    assert acknowledged["organisation_id"] == people.cp_id
    assert action["action"]["kind"] == "meeting" and action["action"]["text"] == "Среща в отдела."
    assert (closed_entry["organisation_id"], closed_entry["outcome"]) == (people.cp_id, "returned_to_school")

    school_history = await client.get(f"/api/v1/children/{child_id}/history", headers=people.teacher)
    assert school_history.status_code == 200, school_history.text
    school_events = [e["event"] for e in school_history.json()["entries"]]
    assert "action" not in school_events
    assert school_events[0] == "alert_raised" and school_events[-1] == "alert_closed"
    assert "Среща в отдела." not in school_history.text


async def test_child_history_hides_a_restricted_action_from_the_municipality_but_not_from_child_protection(
    client, people, child_id
):
    alert = await raise_alert(client, people.teacher, child_id)
    restricted = await act(
        client, people.cp, alert["id"], "actions", {"kind": "note", "text": "Поверително.", "restricted": True}
    )
    assert restricted.status_code == 200, restricted.text

    def actions(history):
        return [e["action"]["text"] for e in history.json()["entries"] if e["event"] == "action"]

    assert actions(await client.get(f"/api/v1/children/{child_id}/history", headers=people.cp)) == ["Поверително."]
    municipal = await client.get(f"/api/v1/children/{child_id}/history", headers=people.municipal)
    assert municipal.status_code == 200, municipal.text
    assert actions(municipal) == []


async def test_paging_walks_alerts_raised_in_the_same_instant_without_loss_or_repeat(client, people):
    """An absence batch raises many alerts in one transaction, with the same creation time: the
    keyset must still break the tie and visit each exactly once."""
    pins = ("1152035081", "1547262167", "1052068754", "1546242145", "1246079910")
    batch = await client.post(
        "/api/v1/absence-reports",
        json={"rows": [{"pin": pin, "month": "2026-10", "unexcused_hours": 10, "excused_hours": 0} for pin in pins]},
        headers=people.teacher,
    )
    assert batch.status_code == 201, batch.text
    raised = set(batch.json()["alerts_raised"])
    assert len(raised) == len(pins)

    for limit in (1, 2):
        seen: list[str] = []
        params: dict[str, object] = {"limit": limit}
        for _ in range(10):
            page = (await client.get("/api/v1/alerts", params=params, headers=people.cp)).json()
            seen.extend(item["id"] for item in page["items"])
            if page["next"] is None:
                break
            params = {"limit": limit, "after": page["next"]}
        assert len(seen) == len(set(seen)), f"repeated with limit={limit}"
        assert set(seen) == raised, f"missed with limit={limit}"


async def test_on_an_urgent_alert_police_see_child_protection_actions_unless_restricted(client, people, child_id):
    alert = await raise_alert(client, people.teacher, child_id, "abuse_or_neglect_suspected", details={})
    open_note = await act(client, people.cp, alert["id"], "actions", {"kind": "contact_family", "text": "Обаждане."})
    assert open_note.status_code == 200, open_note.text
    secret = await act(
        client, people.cp, alert["id"], "actions", {"kind": "note", "text": "Сигнал от съсед.", "restricted": True}
    )
    assert secret.status_code == 200, secret.text
    by_police = await act(
        client, people.police, alert["id"], "actions",
        {"kind": "field_visit", "result": "found_at_address", "text": "Детето е вкъщи.", "restricted": True},
    )
    assert by_police.status_code == 200, by_police.text

    async def texts(headers):
        response = await client.get(f"/api/v1/alerts/{alert['id']}", headers=headers)
        assert response.status_code == 200, response.text
        return _action_texts(response.json())

    assert await texts(people.police) == {"Обаждане.", "Детето е вкъщи."}
    assert await texts(people.cp) == {"Обаждане.", "Сигнал от съсед.", "Детето е вкъщи."}
    assert await texts(people.teacher) == set()
