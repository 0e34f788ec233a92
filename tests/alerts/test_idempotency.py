"""`Idempotency-Key` on POST /alerts (DESIGN §7, §8): a retry gets the first answer and raises
nothing new; the same key with another body is refused; keys belong to their user."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from service.audit.models import AuditEvent
from service.organisations.models import User
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, pupil_id
from tests.core.helpers import assert_problem


@pytest.fixture
async def teacher(world):
    return await world.headers("school-koprinka.staff")


@pytest.fixture
async def child_id(client, teacher):
    return await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])


def _body(child_id: str, hours: int = 12) -> dict:
    return {"child_id": child_id, "type": "unexcused_absences", "severity": "concern",
            "details": {"month": "2026-10", "unexcused_hours": hours}}


async def _alerts_of(client, headers, child_id) -> list[str]:
    response = await client.get("/api/v1/alerts", params={"child_id": child_id}, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_a_retry_with_the_same_key_returns_the_first_answer_and_raises_nothing_new(
    client, world, teacher, child_id
):
    headers = {**teacher, "Idempotency-Key": "e-diary-2026-10-pupil-17"}
    first = await client.post("/api/v1/alerts", json=_body(child_id), headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers

    retry = await client.post("/api/v1/alerts", json=_body(child_id), headers=headers)
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json() == first.json()
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Location"] == first.headers["Location"] == f"/api/v1/alerts/{first.json()['id']}"

    # the same JSON with its keys in another order is the same request
    reordered = dict(reversed(list(_body(child_id).items())))
    third = await client.post("/api/v1/alerts", json=reordered, headers=headers)
    assert third.status_code == 201 and third.json()["id"] == first.json()["id"]

    assert await _alerts_of(client, teacher, child_id) == [first.json()["id"]]
    cp = await world.headers("cp-kazanlak.cp")
    assert await _alerts_of(client, cp, child_id) == [first.json()["id"]]
    inbox = (await client.get("/api/v1/inbox", headers=cp)).json()
    assert [item["alert"]["id"] for item in inbox["items"]] == [first.json()["id"]]


async def test_without_a_key_each_post_raises_a_new_alert(client, teacher, child_id):
    first = await client.post("/api/v1/alerts", json=_body(child_id), headers=teacher)
    second = await client.post("/api/v1/alerts", json=_body(child_id), headers=teacher)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert len(await _alerts_of(client, teacher, child_id)) == 2


async def test_the_same_key_with_a_different_body_is_refused_naming_the_header(client, teacher, child_id):
    headers = {**teacher, "Idempotency-Key": "retry-me"}
    first = await client.post("/api/v1/alerts", json=_body(child_id), headers=headers)
    assert first.status_code == 201, first.text

    other = await client.post("/api/v1/alerts", json=_body(child_id, hours=13), headers=headers)
    body = assert_problem(other, 422)
    assert [e.get("header") for e in body["errors"]] == ["Idempotency-Key"]
    assert "Idempotent-Replayed" not in other.headers

    assert await _alerts_of(client, teacher, child_id) == [first.json()["id"]]
    # the key still answers the original request
    retry = await client.post("/api/v1/alerts", json=_body(child_id), headers=headers)
    assert retry.status_code == 201 and retry.json()["id"] == first.json()["id"]


async def test_different_users_may_use_the_same_key_independently(client, world, teacher, child_id):
    principal = await world.headers("school-koprinka.admin")
    key = {"Idempotency-Key": "2026-10"}

    by_teacher = await client.post("/api/v1/alerts", json=_body(child_id), headers={**teacher, **key})
    by_principal = await client.post("/api/v1/alerts", json=_body(child_id), headers={**principal, **key})
    assert by_teacher.status_code == by_principal.status_code == 201
    assert "Idempotent-Replayed" not in by_principal.headers
    assert by_teacher.json()["id"] != by_principal.json()["id"]

    # and a different body under that key is no conflict across users either
    cp = await world.headers("cp-kazanlak.cp")
    by_cp = await client.post("/api/v1/alerts", json=_body(child_id, hours=20), headers={**cp, **key})
    assert by_cp.status_code == 201, by_cp.text

    assert len(await _alerts_of(client, teacher, child_id)) == 2  # the school's two
    assert len(await _alerts_of(client, cp, child_id)) == 3


@pytest.mark.parametrize(
    "key", ["has spaces", "trailing ", "tab\tinside", "", "x" * 201, "ключ".encode()],
    ids=["spaces", "trailing-space", "tab", "empty", "too-long", "utf8-bytes"],
)
async def test_a_malformed_key_is_refused_and_nothing_is_raised(client, teacher, child_id, key):
    headers = {**teacher, "Idempotency-Key": key}
    response = await client.post("/api/v1/alerts", json=_body(child_id), headers=headers)
    body = assert_problem(response, 422)
    assert [e.get("header") for e in body["errors"]] == ["Idempotency-Key"], body
    assert await _alerts_of(client, teacher, child_id) == []


async def _audit_of(database, resource_id: str) -> list[tuple[str, str, str]]:
    async with database.transaction() as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.decision, AuditEvent.reason)
            .where(col(AuditEvent.resource_id) == resource_id)
            .order_by(col(AuditEvent.seq))
        )
        return [(row[0], row[1], row[2]) for row in rows]


async def _set_roles(database, username: str, roles: list[str]) -> None:
    async with database.transaction() as session:
        await session.execute(update(User).where(col(User.username) == username).values(roles=roles))


async def test_a_replay_is_decided_again_and_audited(client, database, teacher, child_id):
    headers = {**teacher, "Idempotency-Key": "replay-audited"}
    first = await client.post("/api/v1/alerts", json=_body(child_id), headers=headers)
    assert first.status_code == 201, first.text
    alert_id = first.json()["id"]
    assert await _audit_of(database, alert_id) == [("alert.create", "allow", "alert raised and routed")]

    retry = await client.post("/api/v1/alerts", json=_body(child_id), headers=headers)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert await _audit_of(database, alert_id) == [
        ("alert.create", "allow", "alert raised and routed"),
        ("alert.create", "allow", "idempotent replay of an alert raised"),
    ]


async def test_a_replay_after_the_users_role_was_removed_is_refused_not_replayed(
    client, database, teacher, child_id
):
    headers = {**teacher, "Idempotency-Key": "replay-after-role-change"}
    first = await client.post("/api/v1/alerts", json=_body(child_id), headers=headers)
    assert first.status_code == 201, first.text

    await _set_roles(database, "school-koprinka.staff", ["auditor"])
    retry = await client.post("/api/v1/alerts", json=_body(child_id), headers=headers)
    assert_problem(retry, 403)
    assert "Idempotent-Replayed" not in retry.headers and first.json()["id"] not in retry.text
    assert await _audit_of(database, first.json()["id"]) == [
        ("alert.create", "allow", "alert raised and routed"),
        ("alert.create", "deny", "role may not alert.create"),
    ]


async def test_a_replay_after_the_guardian_withdrew_consent_is_refused(client, world, database, child_id):
    cp = await world.headers("cp-kazanlak.cp")
    provider_id = str(await world.organisation_id("provider-kazanlak"))
    consent = await client.post(
        f"/api/v1/children/{child_id}/consents",
        json={"guardian_name": "Мария Ангелова", "guardian_relationship": "mother", "purposes": ["support_services"],
              "recipient_ids": [provider_id], "valid_from": "2026-11-01", "valid_until": "2027-06-30",
              "evidence": "вх. № 123/2026"},
        headers=cp,
    )
    assert consent.status_code == 201, consent.text
    body = {"child_id": child_id, "type": "support_needed", "severity": "concern",
            "details": {"recipient_id": provider_id}, "consent_id": consent.json()["id"]}
    headers = {**cp, "Idempotency-Key": "refer-under-consent"}
    first = await client.post("/api/v1/alerts", json=body, headers=headers)
    assert first.status_code == 201, first.text
    retry = await client.post("/api/v1/alerts", json=body, headers=headers)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"

    withdrawn = await client.post(
        f"/api/v1/consents/{consent.json()['id']}/withdraw", json={"reason": "Майката оттегли съгласието."}, headers=cp
    )
    assert withdrawn.status_code == 200, withdrawn.text
    after = await client.post("/api/v1/alerts", json=body, headers=headers)
    assert_problem(after, 403)
    assert "Idempotent-Replayed" not in after.headers
    assert (await _audit_of(database, first.json()["id"]))[-1] == ("alert.create", "deny", "consent withdrawn")
