"""Refused writes are decisions too (DESIGN §4): a missing If-Match (428), a stale one (412) and a
conflict with the current state (409) each leave one denial in the audit trail, whose reason is
fixed words, never the problem's detail."""

from __future__ import annotations

import pytest

from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, current_etag, pupil_id, raise_alert
from tests.core.helpers import assert_problem
from tests.organisations.helpers import audit_events_after, audit_head_seq


@pytest.fixture
async def cp(world):
    return await world.headers("cp-kazanlak.cp")


@pytest.fixture
async def alert(client, world):
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    return await raise_alert(client, teacher, child_id)


def _summary(events) -> list[tuple]:
    return [(e.action, e.decision, e.resource_type, e.resource_id, str(e.child_id) if e.child_id else None)
            for e in events]


async def test_acknowledging_without_if_match_is_refused_and_audited(client, database, cp, alert):
    before = await audit_head_seq(database)
    response = await client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=cp)
    assert_problem(response, 428)

    events = await audit_events_after(database, before)
    assert _summary(events) == [("alert.respond", "deny", "alert", alert["id"], alert["child_id"])]
    assert events[0].reason == "write refused: If-Match missing"


async def test_acknowledging_with_a_stale_etag_is_refused_and_audited_without_the_detail(
    client, database, cp, alert
):
    etag = await current_etag(client, cp, alert["id"])
    worked = await act(client, cp, alert["id"], "actions", {"kind": "note", "text": "Първи разговор."})
    assert worked.status_code == 200, worked.text

    before = await audit_head_seq(database)
    stale = await client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers={**cp, "If-Match": etag})
    body = assert_problem(stale, 412)
    events = await audit_events_after(database, before)
    assert _summary(events) == [("alert.respond", "deny", "alert", alert["id"], alert["child_id"])]
    assert events[0].reason == "write refused: If-Match is not the current version"
    assert body["detail"] not in events[0].reason

    # the same request with the current ETag is allowed, and audited as allowed
    before = await audit_head_seq(database)
    current = await client.post(
        f"/api/v1/alerts/{alert['id']}/close",
        json={"outcome": "returned_to_school"},
        headers={**cp, "If-Match": await current_etag(client, cp, alert["id"])},
    )
    assert current.status_code == 200, current.text
    events = await audit_events_after(database, before)
    decisions = [(e.action, e.decision) for e in events if e.resource_type == "alert"]
    assert ("alert.respond", "allow") in decisions and ("alert.respond", "deny") not in decisions


async def test_acknowledging_twice_is_a_conflict_and_audited(client, database, cp, alert):
    first = await act(client, cp, alert["id"], "acknowledge")
    assert first.status_code == 200, first.text

    before = await audit_head_seq(database)
    second = await act(client, cp, alert["id"], "acknowledge")
    assert_problem(second, 409)
    events = [e for e in await audit_events_after(database, before) if e.decision == "deny"]
    assert _summary(events) == [("alert.respond", "deny", "alert", alert["id"], alert["child_id"])]
    assert events[0].reason == "write refused: conflicts with the current state"


async def test_withdrawing_a_consent_twice_is_a_conflict_and_audited(client, database, world, cp, alert):
    consent = await client.post(
        f"/api/v1/children/{alert['child_id']}/consents",
        json={
            "guardian_name": "Мария Ангелова",
            "guardian_relationship": "mother",
            "purposes": ["support_services"],
            "recipient_ids": [str(await world.organisation_id("provider-kazanlak"))],
            "valid_from": "2026-11-01",
            "valid_until": "2027-06-30",
            "evidence": "вх. № 123/2026",
        },
        headers=cp,
    )
    assert consent.status_code == 201, consent.text
    path = f"/api/v1/consents/{consent.json()['id']}/withdraw"
    first = await client.post(path, json={"reason": "Майката оттегли съгласието."}, headers=cp)
    assert first.status_code == 200, first.text

    before = await audit_head_seq(database)
    again = await client.post(path, json={"reason": "Майката оттегли съгласието."}, headers=cp)
    assert_problem(again, 409)
    events = await audit_events_after(database, before)
    assert [(e.action, e.decision, e.resource_type, e.resource_id, e.reason) for e in events] == [
        ("POST /api/v1/consents/{consent_id}/withdraw", "deny", "consent", consent.json()["id"],
         "write refused: conflicts with the current state")
    ]
    assert str(events[0].actor_id) != "anonymous"
