"""A load client process for tests/test_scale_out.py: creates alerts (each with its own
Idempotency-Key) and reads them until told to stop, then prints a JSON summary."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx


async def main(base: str, token: str, child_id: str, seconds: float, name: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    created: list[str] = []
    failures: list[str] = []
    statuses: dict[str, int] = {}
    stop = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:

        async def loop(worker: int) -> None:
            n = 0
            while time.monotonic() < stop:
                key = f"{name}-{worker}-{n}"
                try:
                    response = await client.post(
                        "/api/v1/alerts",
                        headers={**headers, "Idempotency-Key": key},
                        json={
                            "child_id": child_id,
                            "type": "unexcused_absences",
                            "details": {"month": f"2026-{n % 10 + 1:02d}", "unexcused_hours": 6 + n % 50},
                        },
                    )
                    statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
                    if response.status_code == 201:
                        created.append(response.json()["id"])
                        read = await client.get(f"/api/v1/alerts/{created[-1]}", headers=headers)
                        statuses[str(read.status_code)] = statuses.get(str(read.status_code), 0) + 1
                    else:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                except httpx.HTTPError as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(0.05)
                n += 1

        await asyncio.gather(*(loop(i) for i in range(4)))
    print(json.dumps({"created": created, "failures": failures, "statuses": statuses}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]))
