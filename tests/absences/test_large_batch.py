"""A 10 MiB CSV batch is read and checked off the event loop: the process keeps answering."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import date

from service.absences import routes
from tests.children.helpers import egn_for

CSV_LIMIT = 10 * 1024 * 1024


def _large_csv() -> bytes:
    """Just under the 10 MiB limit: well-formed rows for 1,000 pupils (none enrolled anywhere)
    over the months since 1990."""
    months = [f"{year}-{month:02d}" for year in range(1990, 2026) for month in range(1, 13)]
    pins = [egn_for(date(2012, 1 + n % 12, 1 + n % 28), serial=n) for n in range(1000)]
    lines = ["ЕГН,Месец,Неизвинени часове,Извинени часове"]
    size = len(lines[0]) + 2
    for month in months:
        for pin in pins:
            line = f"{pin},{month},12,3"
            size += len(line) + 2
            if size > CSV_LIMIT - 1024:
                return "\r\n".join(lines).encode()
            lines.append(line)
    return "\r\n".join(lines).encode()


async def test_healthz_answers_while_a_10_mib_csv_batch_is_being_read(client, world, monkeypatch):
    body = _large_csv()
    assert len(body) > 9.5 * 1024 * 1024
    reading, read = threading.Event(), threading.Event()
    real_decode, real_rows = routes.decode, routes.csv_rows

    def decode(raw: bytes) -> str:
        reading.set()
        return real_decode(raw)

    def csv_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
        yield from real_rows(text)
        read.set()

    monkeypatch.setattr(routes, "decode", decode)
    monkeypatch.setattr(routes, "csv_rows", csv_rows)
    headers = await world.headers("school-koprinka.staff", **{"Content-Type": "text/csv"})

    upload = asyncio.create_task(client.post("/api/v1/absence-reports/csv", content=body, headers=headers))
    while not reading.is_set():
        assert not upload.done(), upload.result().text
        await asyncio.sleep(0.001)
    health = await client.get("/healthz")
    answered_while_reading, batch_finished = not read.is_set(), upload.done()
    batch = await upload

    assert health.status_code == 200
    assert not batch_finished and answered_while_reading
    assert batch.status_code == 422  # no such pupils at this school: every row named, nothing imported
    assert batch.json()["errors"][0] == {
        "row": 1, "field": "pin", "detail": "no pupil with this PIN is enrolled at your school"
    }
