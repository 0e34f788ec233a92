"""`Idempotency-Key` on POST /alerts (DESIGN §7, §8): a retry gets the first answer and raises
nothing new; the same key with another body is refused; keys belong to their user."""

from __future__ import annotations

import pytest

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
