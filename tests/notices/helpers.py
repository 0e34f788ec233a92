"""Shared steps of the notice tests: people's preferences, colleagues, running the worker."""

from __future__ import annotations

from typing import Any

import httpx

from service.core.settings import Settings
from service.delivery.worker import Worker

PUBLIC_URL = "https://obhvat.example.bg"


async def choose(
    client: httpx.AsyncClient, headers: dict[str, str], email: str | None, events: list[str], **extra: Any
) -> dict[str, Any]:
    response = await client.put(
        "/api/v1/me/notifications", json={"email": email, "events": events, **extra}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def colleague(client: httpx.AsyncClient, admin: dict[str, str], world: Any, username: str,
                    org_code: str, role: str) -> str:
    """A second user of a demo organisation; returns the new user's id."""
    created = await client.post(
        "/api/v1/users",
        json={
            "username": username,
            "password": "correct horse battery staple",
            "organisation_id": str(await world.organisation_id(org_code)),
            "roles": [role],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


async def send_all(settings: Settings, database: Any, rounds: int = 5) -> int:
    """Run the worker's e-mail step until nothing is due; returns how many notices it tried."""
    worker = Worker(settings, database)
    total = 0
    for _ in range(rounds):
        sent = await worker.send_mail_once()
        total += sent
        if sent == 0:
            break
    return total
