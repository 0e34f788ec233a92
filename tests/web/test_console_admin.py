"""The administrator's pages: organisations, users, system accounts and rules, through the same
services as the administration API, with its refusals (separation of duties, roles of another
kind of organisation) shown against their fields in Bulgarian, and nothing changed by a refusal."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import World, asgi_client
from tests.web.helpers import csrf_of, form_fields, sign_in

CP_OFFICER = "Социален работник, ОЗД"


SECRET = r'<code class="secret">([^<]+)</code>'


def _found(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, pattern
    return found.group(1)


async def _post(client: httpx.AsyncClient, form_page: str, action: str, data: dict[str, Any]) -> httpx.Response:
    page = await client.get(form_page)
    assert page.status_code == 200, page.text
    return await client.post(action, data={**data, "csrf_token": csrf_of(page)})


async def _api(client: httpx.AsyncClient, world: World, path: str) -> Any:
    answer = await client.get(path, headers=await world.headers("platform.admin"), params={"limit": 200})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _org_id(client: httpx.AsyncClient, world: World, code: str) -> str:
    items = (await _api(client, world, "/api/v1/organisations"))["items"]
    return next(o["id"] for o in items if o["code"] == code)


async def test_the_administrator_adds_and_renames_an_organisation(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "platform.admin")
    made = await _post(
        client, "/admin/organisations/new", "/admin/organisations/new",
        {"code": "school-shipka", "kind": "school", "name": "ОУ „Христо Ботев“ – Шипка", "municipality_codes": "szr12"},
    )
    assert made.status_code == 303
    listed = await client.get(made.headers["location"])
    assert "Създадено" in listed.text and "ОУ „Христо Ботев“ – Шипка" in listed.text.replace("&#34;", '"')
    organisation_id = await _org_id(client, world, "school-shipka")
    renamed = await _post(
        client, f"/admin/organisations/{organisation_id}", f"/admin/organisations/{organisation_id}",
        {"name": "СУ „Христо Ботев“ – Шипка", "municipality_codes": "SZR12, SZR13"},
    )
    assert renamed.status_code == 303
    api = (await client.get(f"/api/v1/organisations/{organisation_id}",
                            headers=await world.headers("platform.admin"))).json()
    assert api["name"] == "СУ „Христо Ботев“ – Шипка" and api["municipality_codes"] == ["SZR12", "SZR13"]


async def test_a_taken_code_and_a_bad_code_are_errors_on_the_code_field(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "platform.admin")
    before = len((await _api(client, world, "/api/v1/organisations"))["items"])
    taken = await _post(
        client, "/admin/organisations/new", "/admin/organisations/new",
        {"code": "school-koprinka", "kind": "school", "name": "Друго училище", "municipality_codes": "SZR12"},
    )
    assert taken.status_code == 422
    assert 'href="#code"' in taken.text and "Вече има институция с този код" in taken.text
    bad = await _post(
        client, "/admin/organisations/new", "/admin/organisations/new",
        {"code": "Училище", "kind": "school", "name": "", "municipality_codes": "Казанлък"},
    )
    assert bad.status_code == 422
    for field in ("code", "name", "municipality_codes"):
        assert f'href="#{field}"' in bad.text
    assert len((await _api(client, world, "/api/v1/organisations"))["items"]) == before


async def test_separation_of_duties_is_refused_and_nothing_is_created(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "platform.admin")
    rue = await _org_id(client, world, "rue-lovech")
    school = await _org_id(client, world, "school-koprinka")
    refused = await _post(
        client, "/admin/users", "/admin/users/new",
        {"username": "rue-lovech.mixed", "password": "a-long-enough-password", "organisation_id": school,
         "roles": ["auditor", "school_staff"]},
    )
    assert refused.status_code == 422
    assert 'href="#roles"' in refused.text
    assert "Одиторът и администраторът нямат други роли: махнете останалите" in refused.text
    wrong_kind = await _post(
        client, "/admin/users", "/admin/users/new",
        {"username": "rue-lovech.cp", "password": "a-long-enough-password", "organisation_id": rue,
         "roles": ["cp_officer"]},
    )
    assert wrong_kind.status_code == 422
    assert f"Ролята „{CP_OFFICER}“ не е допустима в институция от вида „Регионално управление на образованието“" in (
        wrong_kind.text
    )
    usernames = [u["username"] for u in (await _api(client, world, "/api/v1/users"))["items"]]
    assert "rue-lovech.mixed" not in usernames and "rue-lovech.cp" not in usernames


async def test_a_user_made_here_signs_in_and_disabling_them_ends_their_session(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "platform.admin")
    school = await _org_id(client, world, "school-koprinka")
    made = await _post(
        client, "/admin/users", "/admin/users/new",
        {"username": "school-koprinka.mediator", "password": "obhvat-demo-password", "organisation_id": school,
         "roles": ["school_staff"]},
    )
    assert made.status_code == 303
    async with asgi_client(app) as newcomer:
        await sign_in(newcomer, "school-koprinka.mediator")
        user = next(u for u in (await _api(client, world, "/api/v1/users"))["items"]
                    if u["username"] == "school-koprinka.mediator")
        promoted = await _post(client, "/admin/users", f"/admin/users/{user['id']}", {"roles": ["school_admin"]})
        assert promoted.status_code == 303
        mixed = await _post(client, "/admin/users", f"/admin/users/{user['id']}", {"roles": ["school_admin", "admin"]})
        assert mixed.status_code == 422 and f'href="#roles-{user["id"]}"' in mixed.text
        disabled = await _post(client, "/admin/users", f"/admin/users/{user['id']}", {"disabled": "true"})
        assert disabled.status_code == 303
        assert (await newcomer.get("/alerts")).status_code == 303, "a disabled user's session went on"
    after = next(u for u in (await _api(client, world, "/api/v1/users"))["items"] if u["id"] == user["id"])
    assert after["disabled"] is True and after["roles"] == ["school_admin"]


async def test_a_system_accounts_secret_is_shown_once_and_rotating_it_stops_the_old_one(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "platform.admin")
    school = await _org_id(client, world, "school-koprinka")
    made = await _post(
        client, "/admin/clients", "/admin/clients/new",
        {"name": "Електронен дневник – Копринка", "organisation_id": school, "roles": ["school_staff"]},
    )
    assert made.status_code == 201
    client_id = _found(r"<code>([0-9a-f-]{36})</code>", made.text)
    secret = _found(SECRET, made.text)
    token = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    assert (await client.post("/api/v1/auth/token", data=token)).status_code == 200
    listed = await client.get("/admin/clients")
    assert "Електронен дневник – Копринка" in listed.text and secret not in listed.text
    rotated = await _post(client, "/admin/clients", f"/admin/clients/{client_id}", {"rotate_secret": "true"})
    assert rotated.status_code == 200 and "Тайният ключ е сменен" in rotated.text
    new_secret = _found(SECRET, rotated.text)
    assert new_secret != secret
    assert (await client.post("/api/v1/auth/token", data=token)).status_code in (400, 401)
    assert (await client.post("/api/v1/auth/token", data={**token, "client_secret": new_secret})).status_code == 200
    disabled = await _post(client, "/admin/clients", f"/admin/clients/{client_id}", {"disabled": "true"})
    assert disabled.status_code == 303
    assert (await client.post("/api/v1/auth/token", data={**token, "client_secret": new_secret})).status_code in (
        400, 401)


async def test_the_administrator_edits_a_threshold_and_a_refused_rule_set_changes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "platform.admin")
    rules = await client.get("/admin/rules")
    assert rules.status_code == 200
    assert "Кой получава всеки вид сигнал" in rules.text
    before = await _api(client, world, "/api/v1/absence-rules")
    assert "Повече от толкова неизвинени дни за месец" in rules.text  # the kindergartens' rule counts days
    form = form_fields(rules, "/admin/rules/absences")
    form["absences.0.threshold_hours"] = "7"
    saved = await client.post("/admin/rules/absences", data=form)
    assert saved.status_code == 303
    after = (await _api(client, world, "/api/v1/absence-rules"))["items"]
    # only the threshold changed: every other rule, the kindergartens' days rule too, is as it was
    assert after == [{**before["items"][0], "threshold_hours": 7}, *before["items"][1:]]

    routing = await _api(client, world, "/api/v1/routing-rules")
    refused_form: dict[str, Any] = {}
    for rule in routing["items"]:
        prefix = f"routing.{rule['alert_type']}"
        refused_form |= {f"{prefix}.lead": rule["recipient_kinds"][0], f"{prefix}.others": rule["recipient_kinds"][1:],
                         f"{prefix}.legal_basis": rule["legal_basis"],
                         f"{prefix}.forced_severity": rule["forced_severity"] or ""}
    refused_form["routing.dropout_risk.legal_basis"] = "consent"
    refused = await _post(client, "/admin/rules", "/admin/rules/routing", refused_form)
    assert refused.status_code == 422
    assert "Държавните органи споделят по законово задължение" in refused.text
    assert await _api(client, world, "/api/v1/routing-rules") == routing


async def test_other_roles_get_no_administration(app: Any, client: httpx.AsyncClient, world: World) -> None:
    for username in ("cp-kazanlak.cp", "rue-lovech.auditor"):
        async with asgi_client(app) as person:
            start = await sign_in(person, username)
            assert 'href="/admin"' not in start.text
            for path in ("/admin", "/admin/organisations", "/admin/users", "/admin/clients", "/admin/rules"):
                assert (await person.get(path)).status_code == 403, (username, path)
            posted = await person.post(
                "/admin/organisations/new",
                data={"csrf_token": csrf_of(start), "code": "school-sneaky", "kind": "school", "name": "Х",
                      "municipality_codes": "SZR12"},
            )
            assert posted.status_code == 403
    codes = [o["code"] for o in (await _api(client, world, "/api/v1/organisations"))["items"]]
    assert "school-sneaky" not in codes


async def test_administration_forms_are_refused_without_the_csrf_token(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "platform.admin")
    posted = await client.post(
        "/admin/organisations/new",
        data={"code": "school-forged", "kind": "school", "name": "Х", "municipality_codes": "SZR12"},
    )
    assert posted.status_code == 403
    rotated = await client.post("/admin/clients/00000000-0000-0000-0000-000000000000", data={"rotate_secret": "true"})
    assert rotated.status_code == 403
    codes = [o["code"] for o in (await _api(client, world, "/api/v1/organisations"))["items"]]
    assert "school-forged" not in codes
