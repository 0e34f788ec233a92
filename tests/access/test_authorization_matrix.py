"""Every endpoint of the core exchange × every role × {related, unrelated in the same
municipality, another municipality} → the expected status. A leak fails the build.

Scenario: a Koprinka pupil (Казанлък, SZR12) with an `unexcused_absences` alert raised by the
Koprinka teacher, routed to Kazanlak child protection (lead) and the municipality. Expectations
follow DESIGN §4 and service/access/relationships.py: a role that may not act at all → 403; no
relationship → 404 (existence is not revealed); otherwise success."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from service.audit.models import AuditEvent

PUPIL_PIN = "1152035081"

PRINCIPALS = {
    "school_staff·related": "school-koprinka.staff",
    "school_staff·same_municipality": "school-kazanlak.staff",
    "school_staff·other_municipality": "school-lukovit-1.staff",
    "school_admin·related": "school-koprinka.admin",
    "school_admin·same_municipality": "school-kazanlak.admin",
    "school_admin·other_municipality": "school-lukovit-1.admin",
    "cp_officer·related": "cp-kazanlak.cp",
    "cp_officer·other_municipality": "cp-lukovit.cp",
    "municipal_coordinator·related": "mun-kazanlak.municipal",
    "municipal_coordinator·other_municipality": "mun-lukovit.municipal",
    "police_officer·same_municipality": "police-kazanlak.police",
    "police_officer·other_municipality": "police-lukovit.police",
    "provider_worker·same_municipality": "provider-kazanlak.provider",
    "provider_worker·other_municipality": "cop-lukovit.provider",
    "auditor": "rue-lovech.auditor",
    "admin": "platform.admin",
}


def _row(
    school_rel,
    school_same,
    school_other,
    admin_rel,
    admin_same,
    admin_other,
    cp_rel,
    cp_other,
    mun_rel,
    mun_other,
    police_same,
    police_other,
    provider_same,
    provider_other,
    auditor,
    admin,
):
    return dict(
        zip(
            PRINCIPALS,
            (
                school_rel,
                school_same,
                school_other,
                admin_rel,
                admin_same,
                admin_other,
                cp_rel,
                cp_other,
                mun_rel,
                mun_other,
                police_same,
                police_other,
                provider_same,
                provider_other,
                auditor,
                admin,
            ),
            strict=True,
        )
    )


# "in"/"out": a list or feed answered 200 that does / does not contain the alert.
#                         school staff    school admin     cp         municipal   police     provider   aud  adm
EXPECTED = {
    "POST /children": _row(403, 403, 403, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403),
    "POST /children/lookup": _row(200, 404, 404, 200, 404, 404, 200, 404, 200, 404, 403, 403, 403, 403, 403, 403),
    "GET /children/{id}": _row(200, 404, 404, 200, 404, 404, 200, 404, 200, 404, 404, 404, 404, 404, 403, 403),
    "GET /children/{id}/history": _row(200, 404, 404, 200, 404, 404, 200, 404, 200, 404, 404, 404, 404, 404, 403, 403),
    "PATCH /enrolments/{id}": _row(403, 403, 403, 200, 404, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    "POST /alerts": _row(201, 404, 404, 201, 404, 404, 201, 404, 201, 404, 201, 404, 404, 404, 403, 403),
    "GET /alerts": _row(
        "in", "out", "out", "in", "out", "out", "in", "out", "in", "out", "out", "out", "out", "out", 403, 403
    ),
    "GET /alerts/{id}": _row(200, 404, 404, 200, 404, 404, 200, 404, 200, 404, 404, 404, 404, 404, 403, 403),
    "POST /alerts/{id}/acknowledge": _row(
        403, 403, 403, 403, 403, 403, 200, 404, 200, 404, 404, 404, 404, 404, 403, 403
    ),
    "POST /alerts/{id}/actions": _row(403, 403, 403, 403, 403, 403, 200, 404, 200, 404, 404, 404, 404, 404, 403, 403),
    # child protection is asked first and, as the lead, closes the alert: the municipality is
    # still related, but then finds it closed (409)
    "POST /alerts/{id}/close": _row(403, 403, 403, 403, 403, 403, 200, 404, 409, 404, 404, 404, 404, 404, 403, 403),
    "GET /inbox": _row(403, 403, 403, 403, 403, 403, "in", "out", "in", "out", "out", "out", "out", "out", 403, 403),
    "GET /routing-rules": _row(403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
}


class Scenario:
    def __init__(self, client, world, child_id: str, alert_id: str, enrolment_id: str) -> None:
        self.client, self.world = client, world
        self.child_id, self.alert_id, self.enrolment_id = child_id, alert_id, enrolment_id

    async def etag(self) -> str:
        """The alert's current ETag, as a related reader sees it."""
        reader = await self.world.headers("cp-kazanlak.cp")
        return (await self.client.get(f"/api/v1/alerts/{self.alert_id}", headers=reader)).headers["ETag"]

    async def call(self, endpoint: str, username: str):
        h = await self.world.headers(username)
        if "/alerts/{id}/" in endpoint:
            h = {**h, "If-Match": await self.etag()}
        c, child, alert = self.client, self.child_id, self.alert_id
        match endpoint:
            case "POST /children":
                return await c.post(
                    "/api/v1/children",
                    headers=h,
                    json={"pin": PUPIL_PIN, "given_name": "Ангел", "family_name": "Ангелов", "sex": "male"},
                )
            case "POST /children/lookup":
                return await c.post("/api/v1/children/lookup", json={"pin": PUPIL_PIN}, headers=h)
            case "GET /children/{id}":
                return await c.get(f"/api/v1/children/{child}", headers=h)
            case "GET /children/{id}/history":
                return await c.get(f"/api/v1/children/{child}/history", headers=h)
            case "PATCH /enrolments/{id}":
                return await c.patch(f"/api/v1/enrolments/{self.enrolment_id}", json={"grade": 9}, headers=h)
            case "POST /alerts":
                return await c.post(
                    "/api/v1/alerts",
                    headers=h,
                    json={"child_id": child, "type": "dropout_risk", "details": {"indicators": ["absences"]}},
                )
            case "GET /alerts":
                return await c.get("/api/v1/alerts", params={"child_id": child}, headers=h)
            case "GET /alerts/{id}":
                return await c.get(f"/api/v1/alerts/{alert}", headers=h)
            case "POST /alerts/{id}/acknowledge":
                return await c.post(f"/api/v1/alerts/{alert}/acknowledge", headers=h)
            case "POST /alerts/{id}/actions":
                return await c.post(f"/api/v1/alerts/{alert}/actions", json={"kind": "contact_family"}, headers=h)
            case "POST /alerts/{id}/close":
                return await c.post(f"/api/v1/alerts/{alert}/close", json={"outcome": "unfounded"}, headers=h)
            case "GET /inbox":
                return await c.get("/api/v1/inbox", headers=h)
            case "GET /routing-rules":
                return await c.get("/api/v1/routing-rules", headers=h)
        raise AssertionError(endpoint)


@pytest.fixture
async def scenario(client, world) -> Scenario:
    teacher = await world.headers("school-koprinka.staff")
    child = (await client.post("/api/v1/children/lookup", json={"pin": PUPIL_PIN}, headers=teacher)).json()
    alert = await client.post(
        "/api/v1/alerts",
        headers=teacher,
        json={
            "child_id": child["id"],
            "type": "unexcused_absences",
            "details": {"month": "2026-10", "unexcused_hours": 12},
        },
    )
    assert alert.status_code == 201, alert.text
    return Scenario(client, world, child["id"], alert.json()["id"], child["current_enrolment"]["id"])


def _listed(body: dict, alert_id: str) -> bool:
    items = body.get("items", [])
    ids = {i["id"] for i in items if "id" in i} | {i["alert"]["id"] for i in items if i.get("alert")}
    return alert_id in ids


async def _denials(world) -> int:
    async with world.database.transaction() as session:
        return (
            await session.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.decision == "deny"))
        ).scalar_one()


@pytest.mark.parametrize("endpoint", list(EXPECTED))
async def test_access(scenario, world, endpoint):
    wrong = []
    for principal, username in PRINCIPALS.items():
        expected = EXPECTED[endpoint][principal]
        denials_before = await _denials(world)
        response = await scenario.call(endpoint, username)
        if expected in ("in", "out"):
            got = (
                response.status_code
                if response.status_code != 200
                else ("in" if _listed(response.json(), scenario.alert_id) else "out")
            )
        else:
            got = response.status_code
        if got != expected:
            wrong.append(f"{principal} ({username}): expected {expected}, got {got} {response.text[:120]}")
            continue
        if got in (403, 404):
            assert response.headers["content-type"] == "application/problem+json"
            assert await _denials(world) == denials_before + 1, f"{principal}: denial not audited"
        if got == 404:  # nothing about the record beyond the caller's own URL (`instance`)
            shown = str({k: v for k, v in response.json().items() if k != "instance"})
            assert scenario.child_id not in shown and scenario.alert_id not in shown and "Ангел" not in shown
    assert wrong == [], "\n".join(wrong)


async def test_police_related_through_a_whereabouts_alert(client, world, scenario):
    municipal = await world.headers("mun-kazanlak.municipal")
    missing = await client.post(
        "/api/v1/alerts",
        headers=municipal,
        json={"child_id": scenario.child_id, "type": "whereabouts_unknown", "severity": "urgent", "details": {}},
    )
    assert missing.status_code == 201
    police = await world.headers("police-kazanlak.police")
    assert (await client.get(f"/api/v1/alerts/{missing.json()['id']}", headers=police)).status_code == 200
    assert (
        await client.post(f"/api/v1/alerts/{missing.json()['id']}/acknowledge", headers={**police, "If-Match": '"1"'})
    ).status_code == 200
    history = await client.get(f"/api/v1/children/{scenario.child_id}/history", headers=police)
    assert history.status_code == 200
    assert {e["alert_id"] for e in history.json()["entries"]} == {missing.json()["id"]}  # not the absences alert
    assert (await client.get(f"/api/v1/alerts/{scenario.alert_id}", headers=police)).status_code == 404
    lukovit = await world.headers("police-lukovit.police")
    assert (await client.get(f"/api/v1/alerts/{missing.json()['id']}", headers=lukovit)).status_code == 404


async def test_an_unknown_child_or_alert_answers_exactly_like_an_unrelated_one(client, world, scenario):
    outsider = await world.headers("cp-lukovit.cp")
    unknown = uuid.uuid4()
    for path in ("/api/v1/children/{}", "/api/v1/children/{}/history", "/api/v1/alerts/{}"):
        existing = await client.get(
            path.format(scenario.child_id if "children" in path else scenario.alert_id), headers=outsider
        )
        missing = await client.get(path.format(unknown), headers=outsider)
        assert existing.status_code == missing.status_code == 404
        assert {k: v for k, v in existing.json().items() if k not in ("instance", "request_id")} == {
            k: v for k, v in missing.json().items() if k not in ("instance", "request_id")
        }
