"""The walk of issue [3/9]: consent, referral, withdrawal, and break-glass, over HTTP."""

from __future__ import annotations

from urllib.parse import quote

KOPRINKA_PUPIL_PIN = "1152035081"
REASON = "Детето е в болница след инцидент, спешно е нужна историята."


async def _raise_absences_alert(client, world) -> tuple[str, dict]:
    teacher = await world.headers("school-koprinka.staff")
    child_id = (await client.post("/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PIN}, headers=teacher)).json()[
        "id"
    ]
    raised = await client.post(
        "/api/v1/alerts",
        json={
            "child_id": child_id,
            "type": "unexcused_absences",
            "details": {"month": "2026-10", "unexcused_hours": 12},
        },
        headers=teacher,
    )
    assert raised.status_code == 201, raised.text
    return child_id, raised.json()


async def test_referral_under_consent_reaches_the_provider_until_consent_is_withdrawn(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    provider = await world.headers("provider-kazanlak.provider")
    auditor = await world.headers("rue-lovech.auditor")
    provider_id = str(await world.organisation_id("provider-kazanlak"))
    child_id, alert = await _raise_absences_alert(client, world)

    before_consent = await client.get(f"/api/v1/alerts/{alert['id']}", headers=provider)
    assert before_consent.status_code == 404

    consent = await client.post(
        f"/api/v1/children/{child_id}/consents",
        json={
            "guardian_name": "Мария Ангелова",
            "guardian_relationship": "mother",
            "purposes": ["support_services"],
            "recipient_ids": [provider_id],
            "valid_from": "2026-11-01",
            "valid_until": "2027-06-30",
            "evidence": "вх. № 123/2026",
        },
        headers=cp,
    )
    assert consent.status_code == 201, consent.text
    assert consent.json()["state"] == "active"

    current = await client.get(f"/api/v1/alerts/{alert['id']}", headers=cp)
    referred = await client.post(
        f"/api/v1/alerts/{alert['id']}/actions",
        json={"kind": "referral", "recipient_id": provider_id, "text": "Насочване към ЦОП."},
        headers={**cp, "If-Match": current.headers["ETag"]},
    )
    assert referred.status_code == 200, referred.text

    inbox = (await client.get("/api/v1/inbox", headers=provider)).json()
    assert alert["id"] in {item["alert"]["id"] for item in inbox["items"] if item["kind"] == "alert"}
    read = await client.get(f"/api/v1/alerts/{alert['id']}", headers=provider)
    assert read.status_code == 200, read.text
    answered = await client.post(
        f"/api/v1/alerts/{alert['id']}/referral-answer",
        json={"accepted": True},
        headers={**provider, "If-Match": read.headers["ETag"]},
    )
    assert answered.status_code == 200, answered.text
    seen_by_cp = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=cp)).json()
    assert {r["organisation_id"]: r["referral_status"] for r in seen_by_cp["recipients"]}[provider_id] == "accepted"

    withdrawn = await client.post(
        f"/api/v1/consents/{consent.json()['id']}/withdraw", json={"reason": "Майката оттегли съгласието."}, headers=cp
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    after = await client.get(f"/api/v1/alerts/{alert['id']}", headers=provider)
    assert after.status_code == 404
    assert alert["id"] not in {
        i["alert"]["id"] for i in (await client.get("/api/v1/inbox", headers=provider)).json()["items"] if i["alert"]
    }

    denials = await client.get(
        "/api/v1/audit/events", params={"child_id": child_id, "decision": "deny"}, headers=auditor
    )
    assert denials.status_code == 200, denials.text
    reasons = [(e["actor_organisation_id"], e["reason"]) for e in denials.json()["items"]]
    assert (provider_id, "consent withdrawn") in reasons


async def test_police_of_another_municipality_reads_history_only_through_break_glass(client, world):
    police = await world.headers("police-lukovit.police")
    auditor = await world.headers("rue-lovech.auditor")
    cp_kazanlak = await world.headers("cp-kazanlak.cp")
    child_id, _ = await _raise_absences_alert(client, world)

    plain = await client.get(f"/api/v1/children/{child_id}/history", headers=police)
    assert plain.status_code == 404
    short = await client.get(
        f"/api/v1/children/{child_id}/history",
        headers={**police, "X-Purpose-Of-Use": "emergency", "X-Break-Glass-Reason": quote("спешно")},
    )
    assert short.status_code == 422
    assert short.json()["errors"][0]["header"] == "X-Break-Glass-Reason"

    emergency = await client.get(
        f"/api/v1/children/{child_id}/history",
        headers={**police, "X-Purpose-Of-Use": "emergency", "X-Break-Glass-Reason": quote(REASON)},
    )
    assert emergency.status_code == 200, emergency.text
    assert emergency.json()["break_glass"] is True
    assert [e["event"] for e in emergency.json()["entries"]] == ["alert_raised"]

    queue = (await client.get("/api/v1/audit/break-glass", headers=auditor)).json()["items"]
    assert [(q["child_id"], q["reason"]) for q in queue] == [(child_id, REASON)]
    notices = [
        i for i in (await client.get("/api/v1/inbox", headers=cp_kazanlak)).json()["items"] if i["kind"] == "notice"
    ]
    assert [(n["notice"]["kind"], n["notice"]["child_id"]) for n in notices] == [("break_glass", child_id)]

    reviewed = await client.post(
        f"/api/v1/audit/break-glass/{queue[0]['id']}/review",
        json={"outcome": "justified", "comment": "Потвърдено от дежурния."},
        headers=auditor,
    )
    assert reviewed.status_code == 200 and reviewed.json()["review_outcome"] == "justified"
    assert (await client.get("/api/v1/audit/break-glass", headers=auditor)).json()["items"] == []


async def test_roles_without_break_glass_get_403_with_emergency_purpose(client, world):
    child_id, _ = await _raise_absences_alert(client, world)
    for username in (
        "school-koprinka.staff",
        "mun-kazanlak.municipal",
        "provider-kazanlak.provider",
        "rue-lovech.auditor",
    ):
        response = await client.get(
            f"/api/v1/children/{child_id}/history",
            headers={
                **await world.headers(username),
                "X-Purpose-Of-Use": "emergency",
                "X-Break-Glass-Reason": quote(REASON),
            },
        )
        assert response.status_code == 403, (username, response.text)
