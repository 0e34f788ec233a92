"""Shared steps of the alert tests: demo pupils, raising alerts, acting on them with If-Match."""

from __future__ import annotations

from typing import Any

import httpx

#: pupils of school-koprinka (municipality Казанлък, SZR12) in the demo data
KOPRINKA_PUPIL_PINS = ("1152035081", "1547262167", "1052068754")


async def pupil_id(client: httpx.AsyncClient, headers: dict[str, str], pin: str) -> str:
    found = await client.post("/api/v1/children/lookup", json={"pin": pin}, headers=headers)
    assert found.status_code == 200, found.text
    return found.json()["id"]


async def raise_alert(
    client: httpx.AsyncClient, headers: dict[str, str], child_id: str, alert_type: str = "unexcused_absences",
    *, severity: str = "concern", details: dict[str, Any] | None = None, **extra: Any,
) -> dict[str, Any]:
    if details is None:
        details = {"month": "2026-10", "unexcused_hours": 12} if alert_type == "unexcused_absences" else {}
    response = await client.post(
        "/api/v1/alerts",
        json={"child_id": child_id, "type": alert_type, "severity": severity, "details": details, **extra},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def current_etag(client: httpx.AsyncClient, headers: dict[str, str], alert_id: str) -> str:
    response = await client.get(f"/api/v1/alerts/{alert_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


async def act(
    client: httpx.AsyncClient, headers: dict[str, str], alert_id: str, step: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    """POST acknowledge / actions / close with the alert's current ETag."""
    etag = await current_etag(client, headers, alert_id)
    return await client.post(
        f"/api/v1/alerts/{alert_id}/{step}", json=body, headers={**headers, "If-Match": etag}
    )


def by_organisation(alert: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["organisation_id"]: r for r in alert["recipients"]}
