"""Consents, break-glass and referrals in the console: each page goes through the service the API
calls (what it records is what the API then answers), refuses the roles the API refuses, refuses
a form without its CSRF token, speaks Bulgarian and is never stored by a browser."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx

from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, pupil_id, raise_alert
from tests.conftest import World
from tests.web.helpers import csrf_of, sign_in

REASON = "Детето е в болница след инцидент, спешно е нужна историята."
PROVIDER = "Сдружение „Бъдеще за децата“"


async def _child_with_alert(
    client: httpx.AsyncClient, world: World, pin: str = KOPRINKA_PUPIL_PINS[0]
) -> tuple[str, str]:
    """A Koprinka pupil with an alert routed to child protection of Kazanlak: (child id, alert id)."""
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, pin)
    alert = await raise_alert(client, teacher, child_id)
    return child_id, alert["id"]


def _consent_form(csrf: str, provider_id: str, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": csrf,
        "guardian_name": "Мария Ангелова",
        "guardian_relationship": "mother",
        "recipient_ids": [provider_id],
        "purposes": ["support_services"],
        "valid_from": "2026-11-01",
        "valid_until": "2027-06-30",
        "evidence": "вх. № 123/2026",
    }
    form.update(changes)
    return form


async def _api_consents(client: httpx.AsyncClient, world: World, child_id: str) -> list[dict[str, object]]:
    listed = await client.get(
        f"/api/v1/children/{child_id}/consents", headers=await world.headers("cp-kazanlak.cp")
    )
    assert listed.status_code == 200, listed.text
    items: list[dict[str, object]] = listed.json()["items"]
    return items


# --- consents ---------------------------------------------------------------------------------


async def test_the_officer_records_a_consent_on_the_childs_page_and_withdraws_it(
    client: httpx.AsyncClient, world: World
) -> None:
    child_id, _ = await _child_with_alert(client, world)
    provider_id = str(await world.organisation_id("provider-kazanlak"))
    await sign_in(client, "cp-kazanlak.cp")
    page = await client.get(f"/children/{child_id}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "Съгласия на родителя" in page.text and "Няма записано съгласие." in page.text

    form = await client.get(f"/children/{child_id}/consents/new")
    assert form.status_code == 200 and form.headers["cache-control"] == "no-store"
    assert "Записване на съгласие на родителя" in form.text and PROVIDER in form.text

    refused = await client.post(f"/children/{child_id}/consents", data=_consent_form("", provider_id))
    assert refused.status_code == 403
    assert await _api_consents(client, world, child_id) == []

    bad = await client.post(
        f"/children/{child_id}/consents",
        data=_consent_form(csrf_of(form), provider_id, guardian_name="", recipient_ids=[]),
    )
    assert bad.status_code == 422
    for field in ("guardian_name", "recipient_ids"):
        assert f'href="#{field}"' in bad.text and f'id="{field}-error"' in bad.text, field
    assert "Изберете поне един доставчик на услуги" in bad.text
    assert 'value="вх. № 123/2026"' in bad.text, "the form lost what the officer typed"
    backwards = await client.post(
        f"/children/{child_id}/consents", data=_consent_form(csrf_of(form), provider_id, valid_until="2026-10-01")
    )
    assert backwards.status_code == 422
    assert 'href="#valid_until"' in backwards.text and "не по-рано от началната" in backwards.text
    assert await _api_consents(client, world, child_id) == []

    recorded = await client.post(f"/children/{child_id}/consents", data=_consent_form(csrf_of(form), provider_id))
    assert recorded.status_code == 303
    assert recorded.headers["location"].startswith(f"/children/{child_id}?done=consent_recorded")
    [consent] = await _api_consents(client, world, child_id)
    assert consent["state"] == "active" and consent["recipient_ids"] == [provider_id]
    assert consent["guardian_name"] == "Мария Ангелова"

    page = await client.get(f"/children/{child_id}")
    assert "Мария Ангелова" in page.text and PROVIDER in page.text and "Валидно" in page.text
    no_reason = await client.post(
        f"/consents/{consent['id']}/withdraw", data={"csrf_token": csrf_of(page), "child": child_id, "reason": " "}
    )
    assert no_reason.status_code == 422
    assert f'id="withdraw-{consent["id"]}-error"' in no_reason.text
    withdrawn = await client.post(
        f"/consents/{consent['id']}/withdraw",
        data={"csrf_token": csrf_of(page), "child": child_id, "reason": "Майката оттегли съгласието."},
    )
    assert withdrawn.status_code == 303
    [after] = await _api_consents(client, world, child_id)
    assert after["state"] == "withdrawn" and after["withdrawal_reason"] == "Майката оттегли съгласието."
    again = await client.post(
        f"/consents/{consent['id']}/withdraw",
        data={"csrf_token": csrf_of(page), "child": child_id, "reason": "Още веднъж."},
    )
    assert again.status_code == 409 and "Това съгласие вече е оттеглено." in again.text


async def test_a_teacher_sees_no_consents_and_may_not_record_one(client: httpx.AsyncClient, world: World) -> None:
    child_id, _ = await _child_with_alert(client, world)
    provider_id = str(await world.organisation_id("provider-kazanlak"))
    await sign_in(client, "school-koprinka.staff")
    page = await client.get(f"/children/{child_id}")
    assert page.status_code == 200
    assert "Съгласия на родителя" not in page.text
    assert (await client.get(f"/children/{child_id}/consents/new")).status_code == 403
    posted = await client.post(f"/children/{child_id}/consents", data=_consent_form(csrf_of(page), provider_id))
    assert posted.status_code == 403 and "Нямате право на това" in posted.text
    assert await _api_consents(client, world, child_id) == []


async def test_an_officer_without_a_relationship_gets_not_found_for_the_consent_form(
    client: httpx.AsyncClient, world: World
) -> None:
    child_id, _ = await _child_with_alert(client, world)
    await sign_in(client, "cp-lukovit.cp")
    assert (await client.get(f"/children/{child_id}/consents/new")).status_code == 404


# --- break-glass ------------------------------------------------------------------------------


async def test_police_of_another_municipality_open_the_history_with_a_reason(
    client: httpx.AsyncClient, world: World
) -> None:
    child_id, _ = await _child_with_alert(client, world)
    auditor = await world.headers("rue-lovech.auditor")
    await sign_in(client, "police-lukovit.police")
    not_found = await client.get(f"/children/{child_id}")
    assert not_found.status_code == 404 and "Страницата не е намерена" in not_found.text
    assert f'href="/children/{child_id}/emergency"' in not_found.text
    form = await client.get(f"/children/{child_id}/emergency")
    assert form.status_code == 200
    assert "Защо ви е нужна историята сега" in form.text

    without_token = await client.post(f"/children/{child_id}/emergency", data={"reason": REASON})
    assert without_token.status_code == 403
    short = await client.post(f"/children/{child_id}/emergency", data={"reason": "спешно", "csrf_token": csrf_of(form)})
    assert short.status_code == 422
    assert 'href="#reason"' in short.text and "Посочете причината с поне 20 знака" in short.text
    queue = await client.get("/api/v1/audit/break-glass", headers=auditor)
    assert queue.json()["items"] == [], "a refused emergency access reached the review queue"

    opened = await client.post(f"/children/{child_id}/emergency", data={"reason": REASON, "csrf_token": csrf_of(form)})
    assert opened.status_code == 200
    assert opened.headers["cache-control"] == "no-store"
    assert "Цялата история на детето" in opened.text and "Сигнал" in opened.text
    assert "Неизвинени отсъствия" in opened.text

    queue = (await client.get("/api/v1/audit/break-glass", headers=auditor)).json()["items"]
    assert [(q["child_id"], q["reason"]) for q in queue] == [(child_id, REASON)]
    events = (
        await client.get("/api/v1/audit/events", params={"child_id": child_id, "break_glass": "true"}, headers=auditor)
    ).json()["items"]
    assert [(e["purpose"], e["decision"]) for e in events] == [("emergency", "allow")]
    notices = (await client.get("/api/v1/inbox", headers=await world.headers("cp-kazanlak.cp"))).json()["items"]
    assert any(n["kind"] == "notice" for n in notices), "child protection was not told"


async def test_a_reason_with_percent_signs_is_kept_as_typed(client: httpx.AsyncClient, world: World) -> None:
    child_id, _ = await _child_with_alert(client, world)
    typed = "Сигнал 100% спешен: %D0%94 не е код, а текст на служителя."
    await sign_in(client, "police-lukovit.police")
    form = await client.get(f"/children/{child_id}/emergency")
    opened = await client.post(f"/children/{child_id}/emergency", data={"reason": typed, "csrf_token": csrf_of(form)})
    assert opened.status_code == 200
    queue = (await client.get("/api/v1/audit/break-glass", headers=await world.headers("rue-lovech.auditor"))).json()
    assert [q["reason"] for q in queue["items"]] == [typed]
    assert quote(typed, safe="") != typed


async def test_only_officers_entitled_to_break_glass_get_the_form(client: httpx.AsyncClient, world: World) -> None:
    child_id, _ = await _child_with_alert(client, world)
    await sign_in(client, "school-koprinka.staff")
    page = await client.get(f"/children/{child_id}")
    assert "Спешен достъп" not in page.text
    assert (await client.get(f"/children/{child_id}/emergency")).status_code == 403
    refused = await client.post(
        f"/children/{child_id}/emergency", data={"reason": REASON, "csrf_token": csrf_of(page)}
    )
    assert refused.status_code == 403
    queue = await client.get("/api/v1/audit/break-glass", headers=await world.headers("rue-lovech.auditor"))
    assert queue.json()["items"] == []
    await sign_in(client, "school-lukovit-1.staff")
    not_found = await client.get(f"/children/{child_id}")
    assert not_found.status_code == 404 and "/emergency" not in not_found.text


async def test_the_officer_finds_emergency_access_on_the_childs_and_alerts_pages(
    client: httpx.AsyncClient, world: World
) -> None:
    child_id, alert_id = await _child_with_alert(client, world)
    await sign_in(client, "cp-kazanlak.cp")
    for page in (await client.get(f"/children/{child_id}"), await client.get(f"/alerts/{alert_id}")):
        assert f'href="/children/{child_id}/emergency"' in page.text


# --- referrals --------------------------------------------------------------------------------


async def _referred(client: httpx.AsyncClient, world: World) -> tuple[str, str]:
    """An alert child protection referred to provider-kazanlak under the guardian's consent."""
    child_id, alert_id = await _child_with_alert(client, world)
    cp = await world.headers("cp-kazanlak.cp")
    provider_id = str(await world.organisation_id("provider-kazanlak"))
    consent = await client.post(
        f"/api/v1/children/{child_id}/consents",
        json={"guardian_name": "Мария Ангелова", "guardian_relationship": "mother", "purposes": ["support_services"],
              "recipient_ids": [provider_id], "valid_from": "2026-11-01", "valid_until": "2027-06-30",
              "evidence": "вх. № 123/2026"},
        headers=cp,
    )
    assert consent.status_code == 201, consent.text
    referred = await act(client, cp, alert_id, "actions", {"kind": "referral", "recipient_id": provider_id})
    assert referred.status_code == 200, referred.text
    return alert_id, provider_id


def _version(page: httpx.Response, alert_id: str) -> str:
    found = re.search(f'action="/alerts/{alert_id}/referral-answer".*?name="version" value="(\\d+)"', page.text, re.S)
    assert found, "no referral form for the alert"
    return found.group(1)


async def _referral_state(client: httpx.AsyncClient, world: World, alert_id: str, provider_id: str) -> object:
    alert = (await client.get(f"/api/v1/alerts/{alert_id}", headers=await world.headers("cp-kazanlak.cp"))).json()
    return {r["organisation_id"]: r["referral_status"] for r in alert["recipients"]}[provider_id]


async def test_the_provider_accepts_a_referral_from_its_referrals_page(client: httpx.AsyncClient, world: World) -> None:
    alert_id, provider_id = await _referred(client, world)
    await sign_in(client, "provider-kazanlak.provider")
    page = await client.get("/referrals")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Чака вашия отговор" in page.text and "Ангел" in page.text
    version = _version(page, alert_id)

    answer = f"/alerts/{alert_id}/referral-answer"
    without_token = await client.post(answer, data={"version": version, "answer": "accept"})
    assert without_token.status_code == 403
    decline_without_reason = await client.post(
        f"/alerts/{alert_id}/referral-answer",
        data={"csrf_token": csrf_of(page), "version": version, "answer": "decline"},
    )
    assert decline_without_reason.status_code == 422
    assert f'href="#referral-reason-{alert_id}"' in decline_without_reason.text
    assert "Посочете защо отказвате насочването" in decline_without_reason.text
    assert await _referral_state(client, world, alert_id, provider_id) == "pending"

    stale = await client.post(
        f"/alerts/{alert_id}/referral-answer",
        data={"csrf_token": csrf_of(page), "version": str(int(version) - 1), "answer": "accept"},
    )
    assert stale.status_code == 409 and "Сигналът е променен" in stale.text
    accepted = await client.post(answer, data={"csrf_token": csrf_of(page), "version": version, "answer": "accept"})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/referrals?done=accepted"
    assert await _referral_state(client, world, alert_id, provider_id) == "accepted"
    after = await client.get(accepted.headers["location"])
    assert "Приехте насочването" in after.text and "Насочвания с даден отговор" in after.text
    assert "Няма насочване, което чака вашия отговор." in after.text


async def test_the_provider_declines_with_a_reason(client: httpx.AsyncClient, world: World) -> None:
    alert_id, provider_id = await _referred(client, world)
    await sign_in(client, "provider-kazanlak.provider")
    page = await client.get("/referrals")
    declined = await client.post(
        f"/alerts/{alert_id}/referral-answer",
        data={"csrf_token": csrf_of(page), "version": _version(page, alert_id), "answer": "decline",
              "reason": "Нямаме свободно място до януари."},
    )
    assert declined.status_code == 303
    assert await _referral_state(client, world, alert_id, provider_id) == "declined"


async def test_a_school_and_an_auditor_have_no_referrals_page(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "school-koprinka.staff")
    assert (await client.get("/referrals")).status_code == 403
    await sign_in(client, "rue-lovech.auditor")
    assert (await client.get("/referrals")).status_code == 403


async def test_another_provider_cannot_answer_the_referral(client: httpx.AsyncClient, world: World) -> None:
    alert_id, provider_id = await _referred(client, world)
    await sign_in(client, "cop-lukovit.provider")
    page = await client.get("/referrals")
    assert page.status_code == 200 and alert_id not in page.text
    answered = await client.post(
        f"/alerts/{alert_id}/referral-answer", data={"csrf_token": csrf_of(page), "version": "2", "answer": "accept"}
    )
    assert answered.status_code == 404
    assert await _referral_state(client, world, alert_id, provider_id) == "pending"
