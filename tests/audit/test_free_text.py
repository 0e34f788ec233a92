"""Issue 15 item 6: a break-glass reason (which officers fill with names and PINs) never enters the
immutable audit trail. The chain holds its SHA-256; the text lives in `audit_free_text`, which the
review queue and the child protection department's notice read from, and which retention erases
while the chain still verifies."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import select, text

from service.audit import free_text
from service.audit.models import AuditEvent, AuditFreeText, BreakGlassReview
from service.core.clock import utcnow
from service.retention import service as retention
from tests.audit.test_tampering import AUDITOR, _broken_at, _tamper, _verify
from tests.conftest import OPERATOR
from tests.consent.test_consent_walk import _raise_absences_alert

REASON = "Зографски Иван, ЕГН 1152035081: сигнал от съсед за насилие, спешно."
MARKERS = ("Зографски", "1152035081")


async def _break_glass(client, world) -> str:
    """A police officer of another municipality reads a Kazanlak child's history in an emergency."""
    child_id, _ = await _raise_absences_alert(client, world)
    police = await world.headers("police-lukovit.police")
    read = await client.get(
        f"/api/v1/children/{child_id}/history",
        headers={**police, "X-Purpose-Of-Use": "emergency", "X-Break-Glass-Reason": quote(REASON)},
    )
    assert read.status_code == 200 and read.json()["break_glass"] is True, read.text
    return child_id


async def _all_stored_events(database) -> list[dict]:
    async with database.transaction() as session:
        return [dict(row) for row in (await session.execute(select(AuditEvent.__table__))).mappings()]


def _mentions_the_reason(content: str) -> bool:
    return any(marker in content for marker in MARKERS)


async def _queue(client, world) -> list[dict]:
    response = await client.get(
        "/api/v1/audit/break-glass", params={"status": "all"}, headers=await world.headers(AUDITOR)
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _notices(client, world) -> list[dict]:
    inbox = await client.get("/api/v1/inbox", headers=await world.headers("cp-kazanlak.cp"))
    return [item["notice"] for item in inbox.json()["items"] if item["kind"] == "notice"]


async def _erase_after(database, days: int) -> dict[str, int]:
    async with database.transaction() as session:
        plan = await retention.plan(session, now=utcnow() + timedelta(days=days), periods=retention.Periods())
        return await retention.apply(session, actor=OPERATOR, plan=plan)


async def test_the_reason_is_in_no_stored_audit_event_only_its_hash(client, world, database):
    await _break_glass(client, world)

    events = await _all_stored_events(database)
    assert not any(_mentions_the_reason(json.dumps(event, default=str)) for event in events)
    marked = [e for e in events if e["break_glass"]]
    assert marked and all(e["break_glass_reason"] is None for e in marked)
    hashes = {e["break_glass_reason_sha256"] for e in marked}
    assert len(hashes) == 1, "every event of one break-glass read names the same entry"
    async with database.transaction() as session:
        kept = (await session.execute(select(AuditFreeText))).scalars().one()
        review = (await session.execute(select(BreakGlassReview))).scalars().one()
    assert kept.text == REASON and kept.sha256 == free_text.digest(kept.salt, REASON) in hashes
    assert review.reason_sha256 == kept.sha256


async def test_search_export_and_access_report_show_no_free_text(client, world):
    child_id = await _break_glass(client, world)
    auditor = await world.headers(AUDITOR)

    searched = await client.get("/api/v1/audit/events", params={"child_id": child_id}, headers=auditor)
    assert searched.status_code == 200
    marked = [e for e in searched.json()["items"] if e["break_glass"]]
    assert marked and all(len(e["break_glass_reason_sha256"]) == 64 for e in marked)
    assert "break_glass_reason" not in marked[0]
    responses = [searched]
    for fmt in ("jsonl", "csv"):
        responses.append(await client.get("/api/v1/audit/events/export", params={"format": fmt}, headers=auditor))
    report = f"/api/v1/audit/children/{child_id}/access-report"
    for fmt in ("json", "csv"):
        responses.append(await client.get(report, params={"format": fmt}, headers=auditor))
    for response in responses:
        assert response.status_code == 200, response.text
        assert not _mentions_the_reason(response.text), response.request.url
    header = next(csv.reader(io.StringIO(responses[2].text.lstrip("\ufeff"))))
    assert "break_glass_reason_sha256" in header and "break_glass_reason" not in header


async def test_the_review_queue_and_the_departments_notice_show_the_reason(client, world):
    child_id = await _break_glass(client, world)

    queue = await _queue(client, world)
    assert [(q["child_id"], q["reason"]) for q in queue] == [(child_id, REASON)]
    assert len(queue[0]["reason_sha256"]) == 64
    assert [(n["child_id"], n["reason"]) for n in await _notices(client, world)] == [(child_id, REASON)]


async def test_retention_erases_the_reason_after_its_period_and_the_chain_still_verifies(client, world, database):
    child_id = await _break_glass(client, world)
    assert (await _verify(client, world))["ok"] is True

    early = await _erase_after(database, retention.Periods().free_text_days - 1)
    assert early["audit_free_texts"] == 0
    assert (await _queue(client, world))[0]["reason"] == REASON

    done = await _erase_after(database, retention.Periods().free_text_days + 1)
    assert done["audit_free_texts"] == 1
    async with database.transaction() as session:
        assert (await session.execute(select(AuditFreeText))).scalars().all() == []
        erasure = (
            await session.execute(select(AuditEvent).where(AuditEvent.action == "retention.audit_free_text.erase"))  # type: ignore[arg-type]
        ).scalars().one()
    queue = await _queue(client, world)
    assert [(q["child_id"], q["reason"]) for q in queue] == [(child_id, None)]
    assert erasure.resource_id == queue[0]["reason_sha256"]
    assert [n["reason"] for n in await _notices(client, world)] == [None]
    assert (await _verify(client, world))["ok"] is True


async def test_a_changed_reason_hash_in_the_trail_is_detected(client, world, database):
    await _break_glass(client, world)
    seq = next(e["seq"] for e in await _all_stored_events(database) if e["break_glass_reason_sha256"])

    await _tamper(database, "UPDATE audit_event SET break_glass_reason_sha256 = :other WHERE seq = :seq",
                  other="f" * 64, seq=seq)
    _broken_at(await _verify(client, world), seq, "changed")


async def test_a_removed_reason_hash_in_the_trail_is_detected(client, world, database):
    await _break_glass(client, world)
    seq = next(e["seq"] for e in await _all_stored_events(database) if e["break_glass_reason_sha256"])

    await _tamper(database, "UPDATE audit_event SET break_glass_reason_sha256 = NULL WHERE seq = :seq", seq=seq)
    _broken_at(await _verify(client, world), seq, "changed")


async def test_a_reason_rewritten_in_the_erasable_table_is_not_shown_as_the_officers(client, world, database):
    await _break_glass(client, world)
    async with database.transaction() as session:
        await session.execute(text("UPDATE audit_free_text SET text = 'Всичко е наред.'"))

    assert [q["reason"] for q in await _queue(client, world)] == [None]


async def test_a_withdrawal_reason_and_a_closing_reason_stay_out_of_the_trail(client, world, database):
    cp = await world.headers("cp-kazanlak.cp")
    child_id, alert = await _raise_absences_alert(client, world)
    consent = await client.post(
        f"/api/v1/children/{child_id}/consents",
        json={
            "guardian_name": "Мария Ангелова", "guardian_relationship": "mother", "purposes": ["support_services"],
            "recipient_ids": [str(await world.organisation_id("provider-kazanlak"))],
            "valid_from": "2026-11-01", "valid_until": "2027-06-30", "evidence": "вх. № 123/2026",
        },
        headers=cp,
    )
    assert consent.status_code == 201, consent.text
    withdrawn = await client.post(
        f"/api/v1/consents/{consent.json()['id']}/withdraw", json={"reason": "Зографски оттегли съгласието."},
        headers=cp,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    current = await client.get(f"/api/v1/alerts/{alert['id']}", headers=cp)
    closed = await client.post(
        f"/api/v1/alerts/{alert['id']}/close",
        json={"outcome": "other", "reason": "Семейство Зографски се премести."},
        headers={**cp, "If-Match": current.headers["ETag"]},
    )
    assert closed.status_code == 200, closed.text

    assert not any(_mentions_the_reason(json.dumps(e, default=str)) for e in await _all_stored_events(database))
