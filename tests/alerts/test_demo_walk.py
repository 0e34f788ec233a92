"""The scripted walk of issue [2/9] over HTTP with the demo data."""

from __future__ import annotations

KOPRINKA_PUPIL_PIN = "1152035081"  # Ангел Ангелов, grade 9, Копринка (Казанлък)


async def _inbox_alert_ids(client, headers) -> set[str]:
    response = await client.get("/api/v1/inbox", headers=headers)
    assert response.status_code == 200, response.text
    return {item["alert"]["id"] for item in response.json()["items"]}


async def test_koprinka_absences_walk_reaches_the_right_agencies_and_back(client, world):
    teacher = await world.headers("school-koprinka.staff")
    cp = await world.headers("cp-kazanlak.cp")
    municipal = await world.headers("mun-kazanlak.municipal")
    police = await world.headers("police-kazanlak.police")
    cp_kazanlak, mun_kazanlak = await world.organisation_id("cp-kazanlak"), await world.organisation_id("mun-kazanlak")

    found = await client.post("/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PIN}, headers=teacher)
    assert found.status_code == 200, found.text
    child_id = found.json()["id"]

    raised = await client.post(
        "/api/v1/alerts",
        json={"child_id": child_id, "type": "unexcused_absences", "severity": "concern",
              "details": {"month": "2026-10", "unexcused_hours": 12}},
        headers=teacher,
    )
    assert raised.status_code == 201, raised.text
    alert = raised.json()
    recipients = {r["organisation_id"]: r for r in alert["recipients"]}
    assert set(recipients) == {str(cp_kazanlak), str(mun_kazanlak)}
    assert recipients[str(cp_kazanlak)]["lead"] is True

    assert alert["id"] in await _inbox_alert_ids(client, cp)
    assert alert["id"] in await _inbox_alert_ids(client, municipal)
    assert alert["id"] not in await _inbox_alert_ids(client, police)
    for outsider in ("police-kazanlak.police", "cp-lukovit.cp", "mun-lukovit.municipal", "police-lukovit.police"):
        response = await client.get(f"/api/v1/alerts/{alert['id']}", headers=await world.headers(outsider))
        assert response.status_code == 404, (outsider, response.text)

    read = await client.get(f"/api/v1/alerts/{alert['id']}", headers=cp)
    acknowledged = await client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge", headers={**cp, "If-Match": read.headers["ETag"]}
    )
    assert acknowledged.status_code == 200, acknowledged.text
    noted = await client.post(
        f"/api/v1/alerts/{alert['id']}/actions",
        json={"kind": "note", "text": "Семейството е познато на отдела.", "restricted": True},
        headers={**cp, "If-Match": acknowledged.headers["ETag"]},
    )
    assert noted.status_code == 200, noted.text

    school_view = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=teacher)).json()
    assert school_view["actions"] == []
    cp_progress = {r["organisation_id"]: r for r in school_view["recipients"]}[str(cp_kazanlak)]
    assert cp_progress["acknowledged_at"] is not None and cp_progress["state"] == "in_progress"

    municipal_view = await client.get(f"/api/v1/alerts/{alert['id']}", headers=municipal)
    assert municipal_view.json()["actions"] == []  # the restricted note stays with child protection
    visited = await client.post(
        f"/api/v1/alerts/{alert['id']}/actions",
        json={"kind": "field_visit", "result": "not_found", "text": "Никой не отвори."},
        headers={**municipal, "If-Match": municipal_view.headers["ETag"]},
    )
    assert visited.status_code == 200, visited.text
    missing = await client.post(
        "/api/v1/alerts",
        json={"child_id": child_id, "type": "whereabouts_unknown", "severity": "urgent",
              "details": {"field_visit_result": "not_found"}},
        headers=municipal,
    )
    assert missing.status_code == 201, missing.text
    assert missing.json()["id"] in await _inbox_alert_ids(client, police)

    current = await client.get(f"/api/v1/alerts/{alert['id']}", headers=cp)
    closed = await client.post(
        f"/api/v1/alerts/{alert['id']}/close", json={"outcome": "returned_to_school"},
        headers={**cp, "If-Match": current.headers["ETag"]},
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"

    final = (await client.get(f"/api/v1/alerts/{alert['id']}", headers=teacher)).json()
    assert final["status"] == "closed" and final["outcome"] == "returned_to_school"
    assert final["actions"] == []
