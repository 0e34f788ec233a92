"""The web console in-process: its security (CSRF, session fixation, cookie flags, caching, CSP,
idle timeout, sign-out) and that a page never shows what the API would not show that person."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from babel.messages.pofile import read_po
from sqlalchemy import update

from service.core.clock import utcnow
from service.core.settings import Environment
from service.web.i18n import LOCALE_DIR
from service.web.models import WebSession
from service.web.sessions import SESSION_COOKIE
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, act, pupil_id, raise_alert
from tests.conftest import World, asgi_client, make_app
from tests.web.helpers import csrf_of, sign_in


def _field(page: httpx.Response, name: str) -> str:
    found = re.search(f'name="{name}" value="([^"]+)"', page.text)
    assert found, f"no {name} on the page"
    return found.group(1)


async def _find_pupil(client: httpx.AsyncClient, pin: str) -> httpx.Response:
    form = await client.get("/children/search")
    return await client.post("/children/search", data={"pin": pin, "csrf_token": csrf_of(form)})


async def test_a_page_asks_for_sign_in_and_comes_back_after_it(client: httpx.AsyncClient, world: World) -> None:
    inbox = await client.get("/inbox")
    assert inbox.status_code == 303
    assert inbox.headers["location"] == "/login?next=/inbox"


async def test_signing_in_issues_a_new_session_id_each_time(app: Any, client: httpx.AsyncClient, world: World) -> None:
    client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain="obhvat.test")
    await sign_in(client, "cp-kazanlak.cp")
    first = client.cookies.get(SESSION_COOKIE)
    assert first and first != "planted-by-an-attacker"
    await sign_in(client, "cp-kazanlak.cp")
    second = client.cookies.get(SESSION_COOKIE)
    assert second and second != first
    async with asgi_client(app) as other:
        other.cookies.set(SESSION_COOKIE, first, domain="obhvat.test")
        assert (await other.get("/inbox")).status_code == 303, "the replaced session still works"


async def test_session_cookie_is_httponly_and_samesite_lax(client: httpx.AsyncClient, world: World) -> None:
    form = await client.get("/login")
    answer = await client.post(
        "/login", data={"username": "cp-kazanlak.cp", "password": "obhvat-demo-password", "csrf_token": csrf_of(form)}
    )
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in tests; production adds it (next test)


async def test_session_cookie_is_secure_in_production(settings: Any, database: Any, world: World) -> None:
    production = settings.model_copy(update={"environment": Environment.production})
    transport = httpx.ASGITransport(app=make_app(production, database), client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://obhvat.test") as client:
        form = await client.get("/login")
        answer = await client.post(
            "/login",
            data={"username": "cp-kazanlak.cp", "password": "obhvat-demo-password", "csrf_token": csrf_of(form)},
        )
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "Secure" in cookie


async def test_a_wrong_password_shows_the_form_again_and_is_audited(client: httpx.AsyncClient, world: World) -> None:
    form = await client.get("/login")
    answer = await client.post(
        "/login", data={"username": "cp-kazanlak.cp", "password": "wrong", "csrf_token": csrf_of(form)}
    )
    assert answer.status_code == 401
    assert "Грешно потребителско име или парола" in answer.text
    assert SESSION_COOKIE not in answer.cookies


async def test_a_form_without_the_csrf_token_is_refused(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "school-koprinka.staff")
    refused = await client.post("/children/search", data={"pin": KOPRINKA_PUPIL_PINS[0]})
    assert refused.status_code == 403
    assert "Нямате право на това" in refused.text
    wrong = await client.post("/children/search", data={"pin": KOPRINKA_PUPIL_PINS[0], "csrf_token": "guess"})
    assert wrong.status_code == 403
    login_without = await client.post("/login", data={"username": "cp-kazanlak.cp", "password": "x"})
    assert login_without.status_code == 403


async def test_pages_with_child_data_are_not_stored_and_carry_the_csp(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "school-koprinka.staff")
    found = await _find_pupil(client, KOPRINKA_PUPIL_PINS[0])
    assert found.status_code == 303
    child = await client.get(found.headers["location"])
    assert child.status_code == 200
    for page in (child, await client.get("/alerts"), await client.get("/")):
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert KOPRINKA_PUPIL_PINS[0] not in found.headers["location"]


async def test_an_idle_session_ends_after_15_minutes(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "cp-kazanlak.cp")
    assert (await client.get("/inbox")).status_code == 200
    async with world.database.transaction() as session:
        await session.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=16)))
    assert (await client.get("/inbox")).status_code == 303


async def test_signing_out_ends_the_session_on_the_server(client: httpx.AsyncClient, world: World) -> None:
    start = await sign_in(client, "cp-kazanlak.cp")
    token = client.cookies.get(SESSION_COOKIE)
    out = await client.post("/logout", data={"csrf_token": csrf_of(start)})
    assert out.status_code == 303
    client.cookies.set(SESSION_COOKIE, token or "", domain="obhvat.test")
    assert (await client.get("/inbox")).status_code == 303


async def test_english_is_selectable_and_remembered(client: httpx.AsyncClient, world: World) -> None:
    assert "Вход" in (await client.get("/login")).text
    switched = await client.get("/language/en", params={"next": "/login"})
    assert switched.headers["location"] == "/login"
    assert "Sign in" in (await client.get("/login")).text
    evil = await client.get("/language/bg", params={"next": "//evil.example/"})
    assert evil.headers["location"] == "/"


async def test_the_teacher_raises_an_alert_and_the_officer_works_it(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "school-koprinka.staff")
    found = await _find_pupil(client, KOPRINKA_PUPIL_PINS[0])
    child_id = found.headers["location"].rsplit("/", 1)[-1]
    form = await client.get("/alerts/new", params={"child": child_id, "type": "unexcused_absences"})
    assert 'name="details.month"' in form.text and 'name="details.unexcused_hours"' in form.text
    bad = await client.post(
        "/alerts/new",
        data={"csrf_token": csrf_of(form), "child": child_id, "type": "unexcused_absences",
              "details.month": "октомври", "details.unexcused_hours": "12", "severity": "concern"},
    )
    assert bad.status_code == 422
    assert 'href="#details-month"' in bad.text and 'id="details-month"' in bad.text
    data = {"csrf_token": csrf_of(form), "child": child_id, "type": "unexcused_absences", "form_id": "f-1",
            "details.month": "2026-10", "details.unexcused_hours": "12", "severity": "concern"}
    raised = await client.post("/alerts/new", data=data)
    assert raised.status_code == 303
    alert_path = raised.headers["location"].split("?")[0]
    again = await client.post("/alerts/new", data=data)
    assert again.headers["location"].split("?")[0] == alert_path, "the same form sent twice raised two alerts"

    async with asgi_client(app) as officer:
        await sign_in(officer, "cp-kazanlak.cp")
        inbox = await officer.get("/inbox")
        assert alert_path in inbox.text and "Ангел" in inbox.text
        page = await officer.get(alert_path)
        version = _field(page, "version")
        seen = _field(page, "seen_at")
        ack = await officer.post(alert_path + "/acknowledge",
                                 data={"csrf_token": csrf_of(page), "version": version, "seen_at": seen})
        assert ack.status_code == 303
        stale = await officer.post(
            alert_path + "/actions",
            data={"csrf_token": csrf_of(page), "version": version, "seen_at": seen, "kind": "field_visit",
                  "result": "found_at_address"},
        )
        assert stale.status_code == 409
        assert "Някой друг е променил сигнала" in stale.text and "Потвърден" in stale.text
        page = await officer.get(alert_path)
        version = _field(page, "version")
        visit = await officer.post(
            alert_path + "/actions",
            data={"csrf_token": csrf_of(page), "version": version, "seen_at": seen, "kind": "field_visit",
                  "result": "found_at_address", "text": "Семейството е у дома"},
        )
        assert visit.status_code == 303
        page = await officer.get(alert_path)
        version = _field(page, "version")
        closed = await officer.post(
            alert_path + "/close",
            data={"csrf_token": csrf_of(page), "version": version, "seen_at": seen, "outcome": "returned_to_school"},
        )
        assert closed.status_code == 303
    seen_by_school = await client.get(alert_path)
    assert "Върнат в училище" in seen_by_school.text
    assert "Семейството е у дома" not in seen_by_school.text, "a school saw another agency's action"


async def test_a_school_of_another_municipality_gets_a_not_found_page(
    client: httpx.AsyncClient, world: World
) -> None:
    teacher = await world.headers("school-koprinka.staff")
    alert = await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[1]))
    api = await client.get(f"/api/v1/alerts/{alert['id']}", headers=await world.headers("school-lukovit-1.staff"))
    assert api.status_code == 404
    await sign_in(client, "school-lukovit-1.staff")
    page = await client.get(f"/alerts/{alert['id']}")
    assert page.status_code == 404
    assert "Страницата не е намерена" in page.text
    assert (await _find_pupil(client, KOPRINKA_PUPIL_PINS[1])).status_code == 404
    assert (await client.get("/alerts/not-an-id")).status_code == 404


async def test_the_auditor_finds_an_alerts_trail_without_names(client: httpx.AsyncClient, world: World) -> None:
    teacher = await world.headers("school-koprinka.staff")
    alert = await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0]))
    officer = await world.headers("cp-kazanlak.cp")
    assert (await act(client, officer, alert["id"], "acknowledge")).status_code == 200
    await sign_in(client, "rue-lovech.auditor")
    trail = await client.get("/audit", params={"record": alert["id"]})
    assert trail.status_code == 200
    assert "alert.create" in trail.text and "alert acknowledged" in trail.text
    assert "ОУ „Кирил и Методий“" in trail.text.replace("&#34;", '"')
    assert "Ангел" not in trail.text and "Ангелов" not in trail.text
    assert (await client.get(f"/alerts/{alert['id']}")).status_code in (403, 404)


async def test_only_the_auditor_may_search_the_trail(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "cp-kazanlak.cp")
    assert (await client.get("/audit")).status_code == 403


async def test_the_bulgarian_catalogue_translates_every_message() -> None:
    with (LOCALE_DIR / "bg" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="bg")
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert not untranslated


async def test_the_api_docs_still_answer_beside_the_console(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/login" not in paths and "/inbox" not in paths
