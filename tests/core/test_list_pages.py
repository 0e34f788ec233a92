"""Every list answers `{items, next}` with `limit` and `after` and a `Link` to the next page
(§8), including the three that used to answer every item at once: webhooks, audit checkpoints
and a child's consents."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import asgi_client, make_app
from tests.consent.test_consent_walk import _raise_absences_alert
from tests.core.helpers import assert_problem


async def _walk(client: httpx.AsyncClient, path: str, headers: dict[str, str], *, limit: int) -> list[list[Any]]:
    """Every page of a list, following `next`; checks each page's shape and `Link` header."""
    pages: list[list[Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next"}, body
        assert len(body["items"]) <= limit
        pages.append(body["items"])
        if body["next"] is None:
            assert "link" not in response.headers
            return pages
        assert len(body["items"]) == limit
        assert f"after={body['next']}" in response.headers["link"]
        params = {"limit": limit, "after": body["next"]}
        assert len(pages) < 20, "the pages never end"


def _ids(pages: list[list[Any]], key: str = "id") -> list[Any]:
    return [item[key] for page in pages for item in page]


async def test_webhooks_are_listed_page_by_page(settings, database, world):
    insecure = settings.model_copy(update={"webhooks_allow_insecure": True})
    admin = await world.headers("platform.admin")
    police = str(await world.organisation_id("police-kazanlak"))
    async with asgi_client(make_app(insecure, database)) as client:
        created = []
        for n in range(5):
            response = await client.post(
                "/api/v1/webhooks", headers=admin,
                json={"organisation_id": police, "url": f"http://127.0.0.1:9/hook-{n}", "events": ["alert.routed"]},
            )
            assert response.status_code == 201, response.text
            created.append(response.json()["id"])

        pages = await _walk(client, "/api/v1/webhooks", admin, limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert _ids(pages) == created  # oldest first, each once


async def test_audit_checkpoints_are_listed_page_by_page_newest_first(client, world):
    auditor = await world.headers("rue-lovech.auditor")
    for _ in range(3):  # each signing is audited, so the next one has a new head to sign
        assert (await client.post("/api/v1/audit/checkpoints", headers=auditor)).status_code == 201

    pages = await _walk(client, "/api/v1/audit/checkpoints", auditor, limit=2)

    sequences = _ids(pages, "seq")
    assert [len(page) for page in pages] == [2, 1]
    assert sequences == sorted(sequences, reverse=True) and len(set(sequences)) == 3


async def test_a_childs_consents_are_listed_page_by_page(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    provider_id = str(await world.organisation_id("provider-kazanlak"))
    child_id, _ = await _raise_absences_alert(client, world)
    created = []
    for n in range(3):
        response = await client.post(
            f"/api/v1/children/{child_id}/consents", headers=cp,
            json={
                "guardian_name": "Мария Ангелова", "guardian_relationship": "mother",
                "purposes": ["support_services"], "recipient_ids": [provider_id],
                "valid_from": "2026-11-01", "valid_until": "2027-06-30", "evidence": f"вх. № {n + 1}/2026",
            },
        )
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])

    pages = await _walk(client, f"/api/v1/children/{child_id}/consents", cp, limit=2)

    assert [len(page) for page in pages] == [2, 1]
    assert _ids(pages) == created


@pytest.mark.parametrize(
    ("username", "path"),
    [("platform.admin", "/api/v1/webhooks"), ("rue-lovech.auditor", "/api/v1/audit/checkpoints")],
)
async def test_these_lists_refuse_a_cursor_they_did_not_issue_and_a_limit_over_200(client, world, username, path):
    headers = await world.headers(username)

    foreign = await client.get(path, params={"after": "WzI2XQ"}, headers=headers)
    too_many = await client.get(path, params={"limit": 201}, headers=headers)

    assert assert_problem(foreign, 422)["errors"][0]["parameter"] == "after"
    assert assert_problem(too_many, 422)["errors"][0]["parameter"] == "limit"
