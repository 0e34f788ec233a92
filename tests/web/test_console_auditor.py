"""The auditor's console pages: the chain's verification (and the first bad event when someone
changed the trail), the review of emergency accesses, and a child's access report whose guardian
version names organisations and no staff. Only an auditor reaches them."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from sqlalchemy import text

from service.organisations import repository as organisations
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, pupil_id, raise_alert
from tests.conftest import World
from tests.web.helpers import csrf_of, sign_in

REASON = "Детето е изчезнало, нужна е цялата история веднага."


async def _break_glass(client: httpx.AsyncClient, world: World) -> str:
    """Police of another municipality open a Koprinka pupil's history in an emergency (API)."""
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    await raise_alert(client, teacher, child_id)
    opened = await client.get(
        f"/api/v1/children/{child_id}/history",
        headers={**await world.headers("police-lukovit.police"), "X-Purpose-Of-Use": "emergency",
                 "X-Break-Glass-Reason": quote(REASON)},
    )
    assert opened.status_code == 200, opened.text
    return child_id


async def test_the_auditor_sees_the_chain_intact_with_its_head(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "rue-lovech.auditor")
    page = await client.get("/audit/verify")
    assert page.status_code == 200
    assert "Веригата е ненарушена." in page.text and "Връх на веригата" in page.text
    shown = re.search(r"№ ([^<]+)<br><code class=\"hash\">([0-9a-f]{64})</code>", page.text)
    assert shown, "the page shows no chain head"
    seq = int(re.sub(r"\D", "", shown.group(1)))
    async with world.database.transaction() as session:
        at_head = text("SELECT hash FROM audit_event WHERE seq = :seq")
        stored = (await session.execute(at_head, {"seq": seq})).scalar_one()
    assert stored == shown.group(2), "the head shown is not the chain's event at that position"
    assert "Събития, още несвързани във веригата" in page.text


async def test_the_verification_page_names_the_first_changed_event(client: httpx.AsyncClient, world: World) -> None:
    async with world.database.transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        else:
            await session.execute(text("DROP TRIGGER audit_event_no_update"))
        await session.execute(text("UPDATE audit_event SET reason = 'nothing to see' WHERE seq = 7"))
    await sign_in(client, "rue-lovech.auditor")
    page = await client.get("/audit/verify")
    assert page.status_code == 200
    assert "Веригата е нарушена." in page.text
    assert "Първо сгрешено събитие" in page.text and "№ 7<" in page.text


async def test_only_the_auditor_verifies_the_chain(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "cp-kazanlak.cp")
    refused = await client.get("/audit/verify")
    assert refused.status_code == 403 and "Нямате право на това" in refused.text
    assert "Проверка на веригата" not in (await client.get("/")).text


async def test_the_auditor_reviews_an_emergency_access(client: httpx.AsyncClient, world: World) -> None:
    child_id = await _break_glass(client, world)
    auditor = await world.headers("rue-lovech.auditor")
    [waiting] = (await client.get("/api/v1/audit/break-glass", headers=auditor)).json()["items"]
    await sign_in(client, "rue-lovech.auditor")
    queue = await client.get("/audit/break-glass")
    assert queue.status_code == 200 and queue.headers["cache-control"] == "no-store"
    assert REASON in queue.text and "РУ на МВР Луковит" in queue.text
    assert f'href="/audit/children/{child_id}/access-report"' in queue.text
    action = f"/audit/break-glass/{waiting['id']}/review"

    without_token = await client.post(action, data={"outcome": "justified", "comment": "Да."})
    assert without_token.status_code == 403
    incomplete = await client.post(action, data={"csrf_token": csrf_of(queue), "comment": "Причината е достатъчна."})
    assert incomplete.status_code == 422
    assert f'href="#outcome-{waiting["id"]}"' in incomplete.text
    assert "Изберете дали достъпът е бил оправдан" in incomplete.text
    assert "Причината е достатъчна." in incomplete.text, "the comment typed was lost"
    still = (await client.get("/api/v1/audit/break-glass", headers=auditor)).json()["items"]
    assert [i["reviewed_at"] for i in still] == [None]

    reviewed = await client.post(
        action, data={"csrf_token": csrf_of(queue), "outcome": "justified", "comment": "Причината е достатъчна."}
    )
    assert reviewed.status_code == 303 and reviewed.headers["location"] == "/audit/break-glass?done=reviewed"
    assert (await client.get("/api/v1/audit/break-glass", headers=auditor)).json()["items"] == []
    [done] = (await client.get("/api/v1/audit/break-glass", params={"status": "all"}, headers=auditor)).json()["items"]
    assert (done["review_outcome"], done["review_comment"]) == ("justified", "Причината е достатъчна.")
    after = await client.get(reviewed.headers["location"])
    assert "Проверката е записана." in after.text and "Няма спешен достъп, който чака проверка." in after.text
    everything = await client.get("/audit/break-glass", params={"status": "all"})
    assert "Оправдан" in everything.text
    twice = await client.post(action, data={"csrf_token": csrf_of(queue), "outcome": "unjustified", "comment": "Не."})
    assert twice.status_code == 409 and "Този спешен достъп вече е проверен." in twice.text


async def test_an_officer_may_not_read_or_review_the_queue(client: httpx.AsyncClient, world: World) -> None:
    await _break_glass(client, world)
    auditor = await world.headers("rue-lovech.auditor")
    [waiting] = (await client.get("/api/v1/audit/break-glass", headers=auditor)).json()["items"]
    start = await sign_in(client, "police-lukovit.police")
    assert (await client.get("/audit/break-glass")).status_code == 403
    reviewed = await client.post(
        f"/audit/break-glass/{waiting['id']}/review",
        data={"csrf_token": csrf_of(start), "outcome": "justified", "comment": "Сам си одобрявам достъпа."},
    )
    assert reviewed.status_code == 403
    [still] = (await client.get("/api/v1/audit/break-glass", headers=auditor)).json()["items"]
    assert still["reviewed_at"] is None


async def test_the_guardian_report_is_printable_and_names_no_staff(client: httpx.AsyncClient, world: World) -> None:
    child_id = await _break_glass(client, world)
    async with world.database.transaction() as session:
        teacher = await organisations.user_by_username(session, "school-koprinka.staff")
    assert teacher is not None
    await sign_in(client, "rue-lovech.auditor")
    search = await client.get("/audit", params={"child": child_id})
    assert f'href="/audit/children/{child_id}/access-report?for=guardian"' in search.text

    guardian = await client.get(f"/audit/children/{child_id}/access-report", params={"for": "guardian"})
    assert guardian.status_code == 200 and guardian.headers["cache-control"] == "no-store"
    assert "Кой е имал достъп до данните на детето" in guardian.text
    assert "ОУ „Кирил и Методий“, с. Копринка" in guardian.text and "РУ на МВР Луковит" in guardian.text
    assert "спешен достъп" in guardian.text
    assert str(teacher.id) not in guardian.text, "the guardian's version names a member of staff"
    assert "Ангел" not in guardian.text
    assert '<link rel="stylesheet" href="/static/print.css" media="print">' in guardian.text
    style = await client.get("/static/print.css")
    assert style.status_code == 200 and ".site-header" in style.text and "display: none" in style.text

    staff = await client.get(f"/audit/children/{child_id}/access-report")
    assert staff.status_code == 200 and str(teacher.id) in staff.text


async def test_only_the_auditor_reads_a_childs_access_report(client: httpx.AsyncClient, world: World) -> None:
    child_id = await _break_glass(client, world)
    await sign_in(client, "cp-kazanlak.cp")
    report = await client.get(f"/audit/children/{child_id}/access-report", params={"for": "guardian"})
    assert report.status_code == 403
