"""Police in the console (DESIGN §10: "police — the inbox, lookups, `found_out_of_school`"): the
juvenile inspector looks a child up for law enforcement (the purpose stated on the form and
audited), sees the child's identity and never its school, raises `found_out_of_school` through
the alert form, and asks whether child protection knows the child, as the API lets them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from service.audit.models import AuditEvent
from service.auth.throttle import QUESTION_LIMIT
from service.core.clock import LOCAL_ZONE, utcnow
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, pupil_id, raise_alert
from tests.conftest import World, asgi_client
from tests.web.helpers import csrf_of, form_fields, sign_in

PIN = KOPRINKA_PUPIL_PINS[0]  # Ангел, a pupil of school-koprinka (Казанлък)
UNFLAGGED_PIN = "1552049639"  # a Kazanlak pupil nobody has flagged
LUKOVIT_PIN = "1741096847"  # a pupil of school-lukovit-1: not police-kazanlak's area
KOPRINKA_SCHOOL = "Кирил и Методий"
CP_KAZANLAK = ("Отдел „Закрила на детето“, ДСП Казанлък", "+359 431 0 0101", "otdz-kazanlak@dsp.example")


async def _search(client: httpx.AsyncClient, pin: str) -> httpx.Response:
    form = await client.get("/children/search")
    return await client.post("/children/search", data={"pin": pin, "csrf_token": csrf_of(form)})


async def _audited(world: World, action: str) -> list[AuditEvent]:
    async with world.database.transaction() as session:
        rows = await session.execute(
            select(AuditEvent).where(col(AuditEvent.action) == action).order_by(col(AuditEvent.seq))
        )
        return list(rows.scalars())


async def _child_id(client: httpx.AsyncClient, world: World, pin: str = PIN) -> str:
    return await pupil_id(client, await world.headers("police-kazanlak.police"), pin)


# --- the lookup ---------------------------------------------------------------------------------


async def test_police_find_a_child_of_their_area_for_law_enforcement_identity_only(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "police-kazanlak.police")
    form = await client.get("/children/search")
    assert "Цел на търсенето" in form.text and "Правоприлагане" in form.text, "the purpose is not stated"

    found = await _search(client, PIN)
    assert found.status_code == 200, found.text
    assert found.headers["cache-control"] == "no-store"
    assert "Ангел" in found.text and "декември 2011" in found.text
    assert KOPRINKA_SCHOOL not in found.text and "Училище" not in found.text, "a police lookup showed the school"
    child_id = await _child_id(client, world)
    assert f'href="/alerts/new?child={child_id}&amp;type=found_out_of_school"' in found.text
    assert form_fields(found, "/children/known-to-cp")["pin"] == PIN

    lookups = [e for e in await _audited(world, "child.lookup") if str(e.child_id) == child_id]
    assert [(e.decision, e.purpose) for e in lookups][0] == ("allow", "law_enforcement")
    police_org = await world.organisation_id("police-kazanlak")
    assert all(e.actor_organisation_id == police_org for e in lookups[:1])


async def test_police_of_another_municipality_are_told_the_child_is_not_of_their_area(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "police-lukovit.police")
    refused = await _search(client, PIN)
    assert refused.status_code == 404
    assert 'href="#pin"' in refused.text and 'id="pin-error"' in refused.text
    assert "Във вашия район няма дете с това ЕГН или ЛНЧ" in refused.text
    assert "Ангел" not in refused.text
    denied = [e for e in await _audited(world, "child.lookup") if e.decision == "deny"]
    assert [(e.purpose, e.reason) for e in denied] == [("law_enforcement", "no relationship with the child")]


async def test_a_bad_egn_is_an_error_on_the_field(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "police-kazanlak.police")
    bad = await _search(client, "11520350абв")
    assert bad.status_code == 422
    assert 'href="#pin"' in bad.text and "Това не е валиден ЕГН или ЛНЧ" in bad.text
    assert 'aria-describedby="pin-hint pin-error"' in bad.text
    empty = await _search(client, "  ")
    assert empty.status_code == 422 and 'href="#pin"' in empty.text


async def test_a_teacher_still_opens_the_pupils_page_and_a_provider_may_not_search(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "school-koprinka.staff")
    assert "Цел на търсенето" not in (await client.get("/children/search")).text
    found = await _search(client, PIN)
    assert found.status_code == 303 and found.headers["location"].startswith("/children/")

    await sign_in(client, "provider-kazanlak.provider")
    refused = await _search(client, PIN)
    assert refused.status_code == 403 and "Нямате право да търсите ученици" in refused.text
    assert "Ангел" not in refused.text


async def test_the_child_page_stays_not_found_for_police_of_the_area(
    client: httpx.AsyncClient, world: World
) -> None:
    """The API lets police look the child up, not read its record: the console's child page
    answers as `GET /children/{id}` does (so the lookup shows the identity itself)."""
    child_id = await _child_id(client, world)
    police = await world.headers("police-kazanlak.police")
    through_api = await client.get(f"/api/v1/children/{child_id}", headers=police)
    assert through_api.status_code == 404
    await sign_in(client, "police-kazanlak.police")
    page = await client.get(f"/children/{child_id}")
    assert page.status_code == 404 and "Ангел" not in page.text


# --- found out of school ------------------------------------------------------------------------


async def test_police_raise_found_out_of_school_through_the_alert_form(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    child_id = await _child_id(client, world)
    await sign_in(client, "police-kazanlak.police")
    chooser = await client.get("/alerts/new", params={"child": child_id})
    assert chooser.status_code == 200
    assert 'value="found_out_of_school"' in chooser.text and 'value="unexcused_absences"' not in chooser.text

    form = await client.get("/alerts/new", params={"child": child_id, "type": "found_out_of_school"})
    assert form.status_code == 200
    assert "Детето, което открихте" in form.text and "Ангел" not in form.text
    assert 'name="details.found_at" type="datetime-local" class="width-10"' in form.text
    assert 'aria-describedby="details-found_at-hint"' in form.text and 'name="details.place"' in form.text
    base = {"csrf_token": csrf_of(form), "child": child_id, "type": "found_out_of_school", "severity": "concern"}

    bad = await client.post("/alerts/new", data={**base, "details.found_at": "вчера сутринта", "details.place": "X"})
    assert bad.status_code == 422
    assert 'href="#details-found_at"' in bad.text and "Въведете дата и час, например 24.11.2026 10:30" in bad.text
    assert 'aria-describedby="details-found_at-hint details-found_at-error"' in bad.text
    no_place = await client.post("/alerts/new", data={**base, "details.found_at": "2026-11-24T10:00"})
    assert no_place.status_code == 422
    assert 'href="#details-place"' in no_place.text and "Попълнете това поле" in no_place.text
    assert 'value="2026-11-24T10:00"' in no_place.text, "the time given was lost"

    tomorrow = (utcnow().astimezone(LOCAL_ZONE) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    future = await client.post(
        "/alerts/new", data={**base, "details.found_at": tomorrow, "details.place": "Площад „Севтополис“"}
    )
    assert future.status_code == 422
    assert 'href="#details-found_at"' in future.text and "е в бъдещето" in future.text

    raised = await client.post(
        "/alerts/new",
        data={**base, "form_id": "found-1", "details.found_at": "24.11.2026 10:00",
              "details.place": "Площад „Севтополис“, до автогарата", "details.settlement_code": ""},
    )
    assert raised.status_code == 303, raised.text
    alert_id = raised.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    alert = (await client.get(f"/api/v1/alerts/{alert_id}", headers=await world.headers("cp-kazanlak.cp"))).json()
    assert alert["type"] == "found_out_of_school"
    assert alert["details"] == {"found_at": "2026-11-24T10:00:00+02:00",
                                "place": "Площад „Севтополис“, до автогарата"}
    routed = {r["organisation_id"] for r in alert["recipients"]}
    assert routed == {str(await world.organisation_id("school-koprinka")),
                      str(await world.organisation_id("cp-kazanlak"))}
    # the alert went to the child's school as lead: police see that a school has it, not which
    page = await client.get(raised.headers["location"])
    assert KOPRINKA_SCHOOL not in page.text and "Училището на детето" in page.text
    assert KOPRINKA_SCHOOL not in (await client.get("/alerts")).text
    async with asgi_client(app) as officer:
        await sign_in(officer, "cp-kazanlak.cp")
        assert KOPRINKA_SCHOOL in (await officer.get(f"/alerts/{alert_id}")).text


async def test_police_of_another_municipality_cannot_raise_it(client: httpx.AsyncClient, world: World) -> None:
    child_id = await _child_id(client, world)
    await sign_in(client, "police-lukovit.police")
    form = await client.get("/alerts/new", params={"child": child_id, "type": "found_out_of_school"})
    assert form.status_code == 200 and "Ангел" not in form.text, "the form shows a child the unit may not see"
    refused = await client.post(
        "/alerts/new",
        data={"csrf_token": csrf_of(form), "child": child_id, "type": "found_out_of_school", "severity": "concern",
              "details.found_at": "2026-11-24T10:00", "details.place": "Площад"},
    )
    assert refused.status_code == 404 and "Страницата не е намерена" in refused.text
    denied = [e for e in await _audited(world, "alert.create") if e.decision == "deny"]
    assert [str(e.child_id) for e in denied] == [child_id]


async def test_a_teacher_or_provider_gets_no_form_for_a_child_not_theirs(
    client: httpx.AsyncClient, world: World
) -> None:
    lukovit_child = await pupil_id(client, await world.headers("school-lukovit-1.staff"), LUKOVIT_PIN)
    for username in ("school-koprinka.staff", "provider-kazanlak.provider"):
        await sign_in(client, username)
        page = await client.get("/alerts/new", params={"child": lukovit_child, "type": "found_out_of_school"})
        assert page.status_code == 404, username
        assert 'name="details.found_at"' not in page.text


# --- known to child protection ------------------------------------------------------------------


async def _ask(client: httpx.AsyncClient, pin: str, reason: str = "") -> httpx.Response:
    form = await client.get("/children/known-to-cp")
    return await client.post("/children/known-to-cp", data={"pin": pin, "reason": reason,
                                                            "csrf_token": csrf_of(form)})


async def test_police_ask_from_the_found_child_and_see_whom_to_call(
    client: httpx.AsyncClient, world: World
) -> None:
    teacher = await world.headers("school-koprinka.staff")
    await raise_alert(client, teacher, await pupil_id(client, teacher, PIN))
    await sign_in(client, "police-kazanlak.police")
    start = await client.get("/")
    assert 'href="/children/known-to-cp"' in start.text and "Проверка дали отделът за закрила" in start.text
    found = await _search(client, PIN)
    question = form_fields(found, "/children/known-to-cp")
    answer = await client.post(
        "/children/known-to-cp", data={**question, "reason": "Намерено в 10:00 на площада в учебно време"}
    )
    assert answer.status_code == 200, answer.text
    assert "Да. Детето е известно на отдел „Закрила на детето“." in answer.text
    for shown in CP_KAZANLAK:
        assert shown in answer.text
    assert KOPRINKA_SCHOOL not in answer.text and "Неизвинени" not in answer.text, "a detail of the case was shown"
    asked = await _audited(world, "child.known_to_cp")
    assert [(e.decision, e.purpose) for e in asked] == [("allow", "law_enforcement")]
    inbox = (await client.get("/api/v1/inbox", headers=await world.headers("cp-kazanlak.cp"))).json()["items"]
    notices = [i["notice"] for i in inbox if i["kind"] == "notice" and i["notice"]["kind"] == "known_to_cp_question"]
    assert [n["reason"] for n in notices] == ["Намерено в 10:00 на площада в учебно време"]


async def test_a_child_nobody_flagged_is_not_known(client: httpx.AsyncClient, world: World) -> None:
    for username in ("police-kazanlak.police", "school-kazanlak.staff", "mkbppmn-kazanlak.commission"):
        await sign_in(client, username)
        answer = await _ask(client, UNFLAGGED_PIN)
        assert answer.status_code == 200, (username, answer.text)
        assert "Не. Детето не е известно на отдела за закрила на детето." in answer.text


async def test_known_to_cp_refuses_a_provider_and_bad_input_is_on_its_field(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "provider-kazanlak.provider")
    start = await client.get("/")
    assert 'href="/children/known-to-cp"' not in start.text and "Проверка дали отделът за закрила" not in start.text
    assert (await client.get("/children/known-to-cp")).status_code == 403
    refused = await client.post("/children/known-to-cp", data={"pin": PIN, "csrf_token": csrf_of(start)})
    assert refused.status_code == 403 and "Отдел" not in refused.text
    # refused whatever was typed: an empty form is no 422 for one who may not ask
    empty_refused = await client.post("/children/known-to-cp", data={"pin": "", "csrf_token": csrf_of(start)})
    assert empty_refused.status_code == 403

    await sign_in(client, "police-kazanlak.police")
    bad = await _ask(client, "абвгд12345", "Защо питам")
    assert bad.status_code == 422
    assert 'href="#pin"' in bad.text and "Това не е валиден ЕГН или ЛНЧ" in bad.text
    assert 'aria-describedby="pin-hint pin-error"' in bad.text and ">Защо питам</textarea>" in bad.text
    empty = await _ask(client, "")
    assert empty.status_code == 422 and "Въведете ЕГН или ЛНЧ на детето" in empty.text
    long = await _ask(client, PIN, "я" * 501)
    assert long.status_code == 422 and 'href="#reason"' in long.text and "най-много 500 знака" in long.text
    asked = await _audited(world, "child.known_to_cp")
    assert [(e.decision, e.actor_organisation_id) for e in asked] == [
        ("deny", await world.organisation_id("provider-kazanlak"))
    ] * 3, "the provider's refusals were not audited, or a refused form was sent to the service"


async def test_too_many_questions_are_a_friendly_message(app: Any, client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "police-kazanlak.police")
    for _ in range(QUESTION_LIMIT):
        assert (await _ask(client, UNFLAGGED_PIN)).status_code == 200
    throttled = await _ask(client, UNFLAGGED_PIN)
    assert throttled.status_code == 429
    assert "Изчакайте четвърт час и попитайте отново" in throttled.text
    assert int(throttled.headers["retry-after"]) > 0
    async with asgi_client(app) as other:
        await sign_in(other, "police-kazanlak.police")
        assert (await _ask(other, UNFLAGGED_PIN)).status_code == 429, "the limit is the person's, not the session's"
