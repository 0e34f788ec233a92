"""Is this child known to child protection? (DESIGN §4 point 7, §7 `POST /children/known-to-cp`)

Police, schools and the juvenile commission ask with a PIN; the answer is yes or no and whom to
call, never a detail of a case. Every question is audited, told to the department named in the
answer, and counted against the asker: past the limit, 429 with Retry-After.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from service.alerts.models import Alert
from service.audit.models import AuditEvent
from service.auth.throttle import QUESTION_LIMIT
from service.core.clock import utcnow
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, pupil_id, raise_alert
from tests.children.helpers import egn_for
from tests.core.helpers import assert_problem, pointers

KNOWN_PIN, UNKNOWN_PIN = KOPRINKA_PUPIL_PINS[0], KOPRINKA_PUPIL_PINS[1]
CP_KAZANLAK = {"name": "Отдел „Закрила на детето“, ДСП Казанлък", "phone": "+359 431 0 0101",
               "email": "otdz-kazanlak@dsp.example"}
ASK = "/api/v1/children/known-to-cp"


@pytest.fixture
async def known_child(client, world) -> dict[str, Any]:
    """A Koprinka pupil with an open `unexcused_absences` alert routed to cp-kazanlak."""
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KNOWN_PIN)
    return await raise_alert(client, teacher, child_id)


async def _notices(client, headers) -> list[dict[str, Any]]:
    inbox = await client.get("/api/v1/inbox", headers=headers)
    assert inbox.status_code == 200, inbox.text
    return [i["notice"] for i in inbox.json()["items"] if i["kind"] == "notice"]


async def _questions(world) -> list[AuditEvent]:
    async with world.database.transaction() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.action == "child.known_to_cp").order_by(AuditEvent.seq)
        )
        return list(rows.scalars())


@pytest.mark.parametrize(
    "asker",
    ["police-kazanlak.police", "school-kazanlak.staff", "school-lukovit-1.admin", "mkbppmn-kazanlak.commission"],
)
async def test_a_known_child_answers_yes_and_whom_to_call(client, world, known_child, asker):
    answer = await client.post(ASK, json={"pin": KNOWN_PIN}, headers=await world.headers(asker))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"known": True, "department": CP_KAZANLAK}, "yes, whom to call, and nothing else"
    assert answer.headers["Cache-Control"] == "no-store"


async def test_the_department_is_told_who_asked_when_and_why(client, world, known_child):
    police = await world.headers("police-kazanlak.police")
    answer = await client.post(
        ASK, json={"pin": KNOWN_PIN, "reason": "Намерено в 10:00 на площада в учебно време"}, headers=police
    )
    assert answer.status_code == 200, answer.text
    notices = [n for n in await _notices(client, await world.headers("cp-kazanlak.cp"))
               if n["kind"] == "known_to_cp_question"]
    assert len(notices) == 1
    notice = notices[0]
    assert notice["child_id"] == known_child["child_id"]
    assert notice["actor_organisation_id"] == str(await world.organisation_id("police-kazanlak"))
    me = await client.get("/api/v1/me", headers=police)
    assert notice["actor_id"] == me.json()["id"]
    assert notice["purpose"] == "law_enforcement"
    assert notice["reason"] == "Намерено в 10:00 на площада в учебно време"
    assert notice["created_at"]
    # another department hears nothing
    assert await _notices(client, await world.headers("cp-lukovit.cp")) == []


async def test_an_unknown_child_answers_no(client, world):
    school = await world.headers("school-koprinka.staff")
    for pin in (UNKNOWN_PIN, egn_for(date(2014, 2, 2), serial=404)):  # no alert; nobody's
        answer = await client.post(ASK, json={"pin": pin}, headers=school)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"known": False, "department": None}
    assert await _notices(client, await world.headers("cp-kazanlak.cp")) == []
    events = await _questions(world)
    not_known = ("allow", "asked whether known to child protection: not known")
    assert [(e.decision, e.reason) for e in events] == [not_known] * 2
    assert events[0].child_id is not None and events[1].child_id is None


async def test_a_case_closed_over_a_year_ago_is_not_known_any_more(client, world, known_child):
    cp = await world.headers("cp-kazanlak.cp")
    closed = await act(client, cp, known_child["id"], "close", {"outcome": "returned_to_school"})
    assert closed.status_code == 200, closed.text
    police = await world.headers("police-kazanlak.police")
    recent = await client.post(ASK, json={"pin": KNOWN_PIN}, headers=police)
    assert recent.json()["known"] is True, "closed this year: still known"
    async with world.database.transaction() as session:
        await session.execute(
            update(Alert)
            .where(col(Alert.id) == uuid.UUID(known_child["id"]))
            .values(closed_at=utcnow() - timedelta(days=370))
        )
    old = await client.post(ASK, json={"pin": KNOWN_PIN}, headers=police)
    assert old.json() == {"known": False, "department": None}


async def test_every_question_is_audited_without_case_detail(client, world, known_child):
    police = await world.headers("police-kazanlak.police")
    await client.post(ASK, json={"pin": KNOWN_PIN}, headers=police)
    [event] = await _questions(world)
    assert (event.decision, event.purpose, str(event.child_id)) == ("allow", "law_enforcement", known_child["child_id"])
    assert event.reason == "asked whether known to child protection: known"


@pytest.mark.parametrize("asker", ["cp-kazanlak.cp", "mun-kazanlak.municipal", "provider-kazanlak.provider",
                                   "rue-lovech.auditor", "platform.admin"])
async def test_others_may_not_ask(client, world, known_child, asker):
    refused = await client.post(ASK, json={"pin": KNOWN_PIN}, headers=await world.headers(asker))
    assert_problem(refused, 403)
    assert "known" not in refused.json()


async def test_a_bad_pin_names_the_field(client, world):
    refused = await client.post(ASK, json={"pin": "1234567890"}, headers=await world.headers("police-kazanlak.police"))
    assert "#/pin" in pointers(assert_problem(refused, 422))


async def test_questions_are_throttled_per_user(client, world, known_child):
    police = await world.headers("police-kazanlak.police")
    for _ in range(QUESTION_LIMIT):
        answered = await client.post(ASK, json={"pin": KNOWN_PIN}, headers=police)
        assert answered.status_code == 200, answered.text
    refused = await client.post(ASK, json={"pin": UNKNOWN_PIN}, headers=police)
    assert_problem(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    events = await _questions(world)
    assert [e.decision for e in events] == ["allow"] * QUESTION_LIMIT + ["deny"]
    assert events[-1].reason == "too many known-to-cp questions"
    # the department was told of each question answered, not of the refused one
    notices = await _notices(client, await world.headers("cp-kazanlak.cp"))
    assert len([n for n in notices if n["kind"] == "known_to_cp_question"]) == QUESTION_LIMIT
    # another user of the same unit is not held back by it
    other = await client.post(ASK, json={"pin": KNOWN_PIN}, headers=await world.headers("school-koprinka.staff"))
    assert other.status_code == 200, other.text
