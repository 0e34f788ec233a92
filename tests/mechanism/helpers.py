"""Shared steps of the national enrolment mechanism's tests."""

from __future__ import annotations

from typing import Any

import httpx

from service.demo.loader import KAZANLAK_WORKLIST

CSV = {"Content-Type": "text/csv"}
OFFICER = "rue-stara-zagora.education"
COORDINATOR = "mun-kazanlak.municipal"
#: the sample list's child at Koprinka (settlement 38488), with an ЕГН
KOPRINKA_CHILD_PIN = "1647024331"


async def import_kazanlak_list(client: httpx.AsyncClient, world: Any, body: bytes | None = None) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/worklists/csv", content=body if body is not None else KAZANLAK_WORKLIST.read_bytes(),
        headers=await world.headers(OFFICER, **CSV),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def alert_of(client: httpx.AsyncClient, headers: dict[str, str], pin: str) -> dict[str, Any]:
    """The one not_enrolled alert about the child with `pin`, as the caller sees it."""
    found = await client.post("/api/v1/children/lookup", json={"pin": pin}, headers=headers)
    assert found.status_code == 200, found.text
    listed = await client.get(
        "/api/v1/alerts", params={"child_id": found.json()["id"], "type": "not_enrolled"}, headers=headers
    )
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert len(items) == 1, items
    return dict(items[0])


async def team_id(client: httpx.AsyncClient, headers: dict[str, str], code: str) -> str:
    teams = await client.get("/api/v1/teams", headers=headers)
    assert teams.status_code == 200, teams.text
    return str(next(t["id"] for t in teams.json()["items"] if t["code"] == code))


async def post_with_etag(
    client: httpx.AsyncClient, headers: dict[str, str], alert_id: str, step: str, body: dict[str, Any]
) -> httpx.Response:
    current = await client.get(f"/api/v1/alerts/{alert_id}", headers=headers)
    assert current.status_code == 200, current.text
    return await client.post(
        f"/api/v1/alerts/{alert_id}/{step}", json=body, headers={**headers, "If-Match": current.headers["ETag"]}
    )
