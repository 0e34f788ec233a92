"""What an organisation that raised an alert without being a recipient sees (DESIGN §4 point 6):
status, acknowledgements and outcome, as a school does; never other agencies' actions, and never
which providers the case was referred to."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, by_organisation, pupil_id, raise_alert

CP_TEXT = "Разговор с майката в дома."


class People:
    pass


@pytest.fixture
async def people(world):
    p = People()
    p.world = world
    p.teacher = await world.headers("school-koprinka.staff")
    p.cp = await world.headers("cp-kazanlak.cp")
    p.police = await world.headers("police-kazanlak.police")
    p.provider = await world.headers("provider-kazanlak.provider")
    p.cp_id = str(await world.organisation_id("cp-kazanlak"))
    p.provider_id = str(await world.organisation_id("provider-kazanlak"))
    return p


@pytest.fixture
async def child_id(client, people):
    return await pupil_id(client, people.teacher, KOPRINKA_PUPIL_PINS[0])


async def _consent(client: httpx.AsyncClient, people: Any, child_id: str) -> str:
    consent = await client.post(
        f"/api/v1/children/{child_id}/consents",
        json={
            "guardian_name": "Мария Ангелова",
            "guardian_relationship": "mother",
            "purposes": ["support_services"],
            "recipient_ids": [people.provider_id],
            "valid_from": "2026-11-01",
            "valid_until": "2027-06-30",
            "evidence": "вх. № 123/2026",
        },
        headers=people.cp,
    )
    assert consent.status_code == 201, consent.text
    return str(consent.json()["id"])


async def _referred_case(client: httpx.AsyncClient, people: Any, child_id: str) -> tuple[dict, str]:
    """The school's alert, referred by child protection to the provider under consent."""
    alert = await raise_alert(client, people.teacher, child_id)
    consent_id = await _consent(client, people, child_id)
    referred = await act(
        client, people.cp, alert["id"], "actions",
        {"kind": "referral", "recipient_id": people.provider_id, "text": "Насочване към ЦОП."},
    )
    assert referred.status_code == 200, referred.text
    answered = await act(client, people.provider, alert["id"], "referral-answer", {"accepted": True})
    assert answered.status_code == 200, answered.text
    return alert, consent_id


async def test_a_provider_that_raised_an_alert_never_sees_child_protections_actions_on_it(client, people, child_id):
    _, consent_id = await _referred_case(client, people, child_id)
    raised = await raise_alert(
        client, people.provider, child_id, "abuse_or_neglect_suspected", severity="urgent",
        details={"immediate_danger": False},
    )
    worked = await act(client, people.cp, raised["id"], "actions", {"kind": "contact_family", "text": CP_TEXT})
    assert worked.status_code == 200, worked.text

    # child protection, a recipient, sees its own action
    seen_by_cp = await client.get(f"/api/v1/alerts/{raised['id']}", headers=people.cp)
    assert [a["text"] for a in seen_by_cp.json()["actions"]] == [CP_TEXT]

    seen = await client.get(f"/api/v1/alerts/{raised['id']}", headers=people.provider)
    assert seen.status_code == 200, seen.text
    assert seen.json()["actions"] == [] and CP_TEXT not in seen.text
    assert by_organisation(seen.json())[people.cp_id]["state"] == "in_progress"

    withdrawn = await client.post(
        f"/api/v1/consents/{consent_id}/withdraw", json={"reason": "Майката оттегли съгласието."}, headers=people.cp
    )
    assert withdrawn.status_code == 200, withdrawn.text
    again = await act(client, people.cp, raised["id"], "actions", {"kind": "note", "text": CP_TEXT + " Втори път."})
    assert again.status_code == 200, again.text

    after = await client.get(f"/api/v1/alerts/{raised['id']}", headers=people.provider)
    assert after.status_code == 200, after.text
    assert after.json()["actions"] == [] and CP_TEXT not in after.text
    assert after.json()["status"] == "open"
    listed = await client.get("/api/v1/alerts", params={"child_id": child_id}, headers=people.provider)
    assert [item["id"] for item in listed.json()["items"]] == [raised["id"]]
    assert CP_TEXT not in listed.text


async def test_a_police_unit_that_raised_an_alert_sees_the_outcome_but_not_the_agencies_actions(
    client, people, child_id
):
    missing = await raise_alert(client, people.teacher, child_id, "whereabouts_unknown", severity="urgent")
    assert missing["status"] == "open"  # reaches the police, who may now raise alerts about the child
    found = await raise_alert(client, people.police, child_id, "dropout_risk")
    assert people.cp_id in by_organisation(found)
    worked = await act(client, people.cp, found["id"], "actions", {"kind": "field_visit", "result": "found_at_address",
                                                                    "text": CP_TEXT})
    assert worked.status_code == 200, worked.text
    closed = await act(client, people.cp, found["id"], "close", {"outcome": "returned_to_school"})
    assert closed.status_code == 200, closed.text

    seen = (await client.get(f"/api/v1/alerts/{found['id']}", headers=people.police)).json()
    assert seen["actions"] == []
    assert by_organisation(seen)[people.cp_id]["outcome"] == "returned_to_school"
    seen_by_cp = (await client.get(f"/api/v1/alerts/{found['id']}", headers=people.cp)).json()
    assert [a["text"] for a in seen_by_cp["actions"]] == [CP_TEXT]


async def test_a_school_does_not_see_which_provider_its_alert_was_referred_to(client, people, child_id):
    alert, _ = await _referred_case(client, people, child_id)

    seen_by_cp = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.cp)).json()
    assert by_organisation(seen_by_cp)[people.provider_id]["referral_status"] == "accepted"

    school = await client.get(f"/api/v1/alerts/{alert['id']}", headers=people.teacher)
    assert school.status_code == 200, school.text
    assert people.provider_id not in school.text
    assert people.cp_id in by_organisation(school.json())
    listed = await client.get("/api/v1/alerts", params={"child_id": child_id}, headers=people.teacher)
    assert people.provider_id not in listed.text
    history = await client.get(f"/api/v1/children/{child_id}/history", headers=people.teacher)
    assert history.status_code == 200, history.text
    assert people.provider_id not in history.text
    assert "referral_answered" not in {e["event"] for e in history.json()["entries"]}
    cp_history = await client.get(f"/api/v1/children/{child_id}/history", headers=people.cp)
    assert "referral_answered" in {e["event"] for e in cp_history.json()["entries"]}


async def test_a_provider_referred_its_own_alert_sees_it_as_its_raiser_once_the_consent_is_withdrawn(
    client, people, child_id
):
    """A provider that raised an alert and was then referred it keeps, after the guardian
    withdraws that consent, only the raiser's view: in the list, the item and the history alike,
    never child protection's actions, the outcome's reason or the referral."""
    await _referred_case(client, people, child_id)  # the provider's standing relationship (first consent)
    raised = await raise_alert(
        client, people.provider, child_id, "abuse_or_neglect_suspected", severity="urgent",
        details={"immediate_danger": False},
    )
    second_consent = await _consent(client, people, child_id)
    referral_text = "Насочване обратно към доставчика."
    referred = await act(
        client, people.cp, raised["id"], "actions",
        {"kind": "referral", "recipient_id": people.provider_id, "text": referral_text},
    )
    assert referred.status_code == 200, referred.text
    declined = await act(
        client, people.provider, raised["id"], "referral-answer", {"accepted": False, "reason": "Нямаме капацитет."}
    )
    assert declined.status_code == 200, declined.text
    worked = await act(client, people.cp, raised["id"], "actions", {"kind": "contact_family", "text": CP_TEXT})
    assert worked.status_code == 200, worked.text
    closed = await act(
        client, people.cp, raised["id"], "close",
        {"outcome": "referred_to_service", "reason": "Семейството е подкрепено."},
    )
    assert closed.status_code == 200, closed.text

    withdrawn = await client.post(
        f"/api/v1/consents/{second_consent}/withdraw", json={"reason": "Майката оттегли съгласието."},
        headers=people.cp,
    )
    assert withdrawn.status_code == 200, withdrawn.text

    def raiser_view(alert: dict[str, Any]) -> None:
        assert alert["actions"] == [], alert["actions"]
        assert alert["outcome_reason"] is None
        assert all(r["referral_reason"] is None for r in alert["recipients"])
        assert people.provider_id not in by_organisation(alert)
        assert alert["status"] == "closed"

    item = await client.get(f"/api/v1/alerts/{raised['id']}", headers=people.provider)
    assert item.status_code == 200, item.text
    raiser_view(item.json())
    listed = await client.get("/api/v1/alerts", params={"child_id": child_id}, headers=people.provider)
    assert listed.status_code == 200, listed.text
    [in_list] = [a for a in listed.json()["items"] if a["id"] == raised["id"]]
    raiser_view(in_list)
    assert in_list == item.json()
    history = await client.get(f"/api/v1/children/{child_id}/history", headers=people.provider)
    assert history.status_code == 200, history.text
    for text in (CP_TEXT, referral_text, "Семейството е подкрепено.", "Нямаме капацитет."):
        assert text not in listed.text and text not in item.text and text not in history.text

    # it is no longer a recipient: it cannot respond to the alert
    refused = await client.post(
        f"/api/v1/alerts/{raised['id']}/actions", json={"kind": "note", "text": "Бележка."},
        headers={**people.provider, "If-Match": item.headers["ETag"]},
    )
    assert refused.status_code in (403, 404), refused.text
