"""Every error answer is an RFC 9457 problem (`application/problem+json`, `type`, `title`,
`status`), validation errors point at the offending field, and a crash tells the client nothing
about the code or the SQL behind it."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from service.core.database import DbSession
from service.organisations.models import Organisation
from tests.core.helpers import LogCapture, assert_problem, pointers

ORGS = "/api/v1/organisations"


def organisation(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "code": "test-org-1",
        "kind": "school",
        "name": "Тестово училище",
        "municipality_codes": ["LOV19"],
    }
    body.update(overrides)
    return body


# --- 400 ---------------------------------------------------------------------------------------


async def test_malformed_basic_credentials_are_a_400_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic !!!not-base64!!!"},
    )
    body = assert_problem(response, 400)
    assert "Basic" in body["detail"]


async def test_basic_credentials_that_are_not_utf8_are_a_400_problem(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},
    )
    assert_problem(response, 400)


async def test_unsupported_grant_type_is_a_400_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", data={"grant_type": "magic"})
    body = assert_problem(response, 400)
    assert body["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("form", [{}, {"grant_type": ""}, {"username": "ivan.petrov"}], ids=["none", "empty", "absent"])
async def test_a_missing_grant_type_is_an_oauth2_invalid_request(client: httpx.AsyncClient, form) -> None:
    response = await client.post("/api/v1/auth/token", data=form)
    body = assert_problem(response, 400)
    assert body["error"] == "invalid_request" and "grant_type" in body["detail"]


# --- 401 / 403 ---------------------------------------------------------------------------------


async def test_no_token_is_a_401_problem_with_a_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get(ORGS)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].lower().startswith("bearer")


async def test_garbage_token_is_a_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(ORGS, headers={"Authorization": "Bearer not.a.token"})
    assert_problem(response, 401)


async def test_wrong_password_is_a_401_problem(client: httpx.AsyncClient, world) -> None:
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "platform.admin",
              "password": "wrong-password-1"},
    )
    assert_problem(response, 401)


async def test_school_user_creating_an_organisation_is_a_403_problem(
    client: httpx.AsyncClient, world, admin
) -> None:
    school = await world.headers("school-koprinka.staff")
    response = await client.post(ORGS, headers=school, json=organisation())
    assert_problem(response, 403)
    # nothing was created
    listed = await client.get(ORGS, params={"limit": 200}, headers=admin)
    assert "test-org-1" not in [o["code"] for o in listed.json()["items"]]


# --- 404 / 405 ---------------------------------------------------------------------------------


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/v1/no-such-thing"), 404)
    assert body["instance"] == "/api/v1/no-such-thing"


async def test_unknown_organisation_is_a_404_problem(client: httpx.AsyncClient, admin) -> None:
    response = await client.get(f"{ORGS}/{uuid.uuid4()}", headers=admin)
    assert_problem(response, 404)


async def test_malformed_path_id_is_a_422_problem_naming_the_parameter(
    client: httpx.AsyncClient, admin
) -> None:
    body = assert_problem(await client.get(f"{ORGS}/not-a-uuid", headers=admin), 422)
    assert [e.get("parameter") for e in body["errors"]] == ["organisation_id"]


async def test_wrong_method_is_a_405_problem_naming_allowed_methods(
    client: httpx.AsyncClient, admin
) -> None:
    response = await client.delete(ORGS, headers=admin)
    assert_problem(response, 405)
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed


async def test_wrong_method_on_an_item_names_its_methods(client: httpx.AsyncClient, admin) -> None:
    response = await client.delete(f"{ORGS}/{uuid.uuid4()}", headers=admin)
    assert_problem(response, 405)
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "PATCH"} <= allowed
    assert "DELETE" not in allowed and "POST" not in allowed


# --- 415-ish: wrong content type ---------------------------------------------------------------


async def test_text_plain_body_to_a_json_endpoint_is_a_problem(
    client: httpx.AsyncClient, admin
) -> None:
    """FastAPI does not answer 415 here: a non-JSON media type leaves the body unparsed, so the
    answer is a 422 problem saying the body is not an object. Either way nothing is created."""
    response = await client.post(
        ORGS,
        headers={**admin, "Content-Type": "text/plain"},
        content=b'{"code":"test-org-1","kind":"school","name":"x","municipality_codes":["LOV19"]}',
    )
    assert response.status_code in (415, 422)
    body = assert_problem(response, response.status_code)
    if response.status_code == 422:
        assert pointers(body) == ["#/"]
    listed = await client.get(ORGS, params={"limit": 200}, headers=admin)
    assert "test-org-1" not in [o["code"] for o in listed.json()["items"]]


# --- 422 ---------------------------------------------------------------------------------------


async def test_unknown_kind_points_at_kind(client: httpx.AsyncClient, admin) -> None:
    response = await client.post(ORGS, headers=admin, json=organisation(kind="bank"))
    body = assert_problem(response, 422)
    assert pointers(body) == ["#/kind"]
    assert "#/kind" in body["detail"]


async def test_bad_municipality_code_points_at_the_list_item(
    client: httpx.AsyncClient, admin
) -> None:
    response = await client.post(
        ORGS, headers=admin, json=organisation(municipality_codes=["lov19x"])
    )
    body = assert_problem(response, 422)
    assert pointers(body) == ["#/municipality_codes/0"]


async def test_second_bad_municipality_code_points_at_index_1(
    client: httpx.AsyncClient, admin
) -> None:
    response = await client.post(
        ORGS, headers=admin, json=organisation(municipality_codes=["LOV19", "bad"])
    )
    assert pointers(assert_problem(response, 422)) == ["#/municipality_codes/1"]


async def test_cyrillic_code_points_at_code(client: httpx.AsyncClient, admin) -> None:
    response = await client.post(ORGS, headers=admin, json=organisation(code="училище"))
    body = assert_problem(response, 422)
    assert pointers(body) == ["#/code"]


async def test_several_bad_fields_are_all_reported(client: httpx.AsyncClient, admin) -> None:
    response = await client.post(
        ORGS, headers=admin, json=organisation(kind="bank", code="УЧ", municipality_codes=["x"])
    )
    body = assert_problem(response, 422)
    assert set(pointers(body)) == {"#/kind", "#/code", "#/municipality_codes/0"}
    for entry in body["errors"]:
        assert isinstance(entry["detail"], str) and entry["detail"]


async def test_missing_and_unknown_fields_are_pointed_at(client: httpx.AsyncClient, admin) -> None:
    payload = organisation(colour="red")
    del payload["name"]
    body = assert_problem(await client.post(ORGS, headers=admin, json=payload), 422)
    assert set(pointers(body)) == {"#/name", "#/colour"}


async def test_limit_over_200_names_the_query_parameter(client: httpx.AsyncClient, admin) -> None:
    body = assert_problem(await client.get(ORGS, params={"limit": 1000}, headers=admin), 422)
    assert [e.get("parameter") for e in body["errors"]] == ["limit"]
    assert "pointer" not in body["errors"][0]


async def test_malformed_cursor_is_a_422_problem(client: httpx.AsyncClient, admin) -> None:
    for cursor in ("!!!", "bm90LWpzb24", base64.urlsafe_b64encode(b'{"a":1}').decode()):
        body = assert_problem(await client.get(ORGS, params={"after": cursor}, headers=admin), 422)
        assert [e.get("parameter") for e in body["errors"]] == ["after"]


async def test_duplicate_code_is_a_client_error_not_a_crash(
    client: httpx.AsyncClient, admin
) -> None:
    response = await client.post(ORGS, headers=admin, json=organisation(code="mun-lukovit"))
    assert response.status_code in (409, 422)
    body = assert_problem(response, response.status_code)
    assert "INSERT" not in response.text and "UNIQUE" not in response.text.upper()
    if response.status_code == 422:
        assert pointers(body) == ["#/code"]


# --- 500 ---------------------------------------------------------------------------------------

SQL_WORDS = ("INSERT", "SELECT", "UNIQUE", "constraint", "sqlite", "psycopg", "[SQL", "parameters")


def assert_bare_500(response: httpx.Response) -> dict:
    body = assert_problem(response, 500)
    assert set(body) <= {"type", "title", "status", "detail", "instance", "request_id"}, body
    for needle in ("Traceback", 'File "', "line ", ".py", "RuntimeError", "Error:", *SQL_WORDS):
        assert needle not in response.text, needle
    # the id lets an operator find the log line; it is the one the response header carries
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_crash_is_a_bare_500_problem(app, client: httpx.AsyncClient) -> None:
    async def explode() -> None:
        raise RuntimeError("kaboom: secret internals at /srv/obhvat/service.py line 42")

    app.add_api_route("/test-explode", explode)
    response = await client.get("/test-explode", headers={"X-Request-ID": "crash-1"})
    body = assert_bare_500(response)
    assert "kaboom" not in response.text and "secret internals" not in response.text
    assert body["request_id"] == "crash-1"


async def test_integrity_error_does_not_leak_sql(app, client: httpx.AsyncClient) -> None:
    async def raise_integrity() -> None:
        raise IntegrityError(
            "INSERT INTO child (pin_hash, family_name) VALUES (?, ?)",
            ("abc", "MARKER-FAMILY"),
            Exception("UNIQUE constraint failed: child.pin_hash"),
        )

    app.add_api_route("/test-integrity", raise_integrity)
    response = await client.get("/test-integrity")
    assert_bare_500(response)
    assert "MARKER-FAMILY" not in response.text and "child" not in response.text


async def test_real_database_failure_leaks_neither_sql_nor_values(
    app, client: httpx.AsyncClient, world
) -> None:
    """A real unique violation reaching the top (no service caught it): the client sees a bare
    500; the log keeps the error for operators but not the row's values (they may be names)."""
    marker = "Marker-Zlatka-Xyzzy"

    async def duplicate(session: DbSession) -> None:
        session.add(Organisation(code="mun-lukovit", kind="school", name=marker))
        await session.flush()

    async def bad_sql(session: DbSession) -> None:
        await session.execute(
            text("INSERT INTO no_such_table (name) VALUES (:name)"), {"name": marker}
        )

    app.add_api_route("/test-duplicate", duplicate)
    app.add_api_route("/test-bad-sql", bad_sql)
    logs = LogCapture()
    for path in ("/test-duplicate", "/test-bad-sql"):
        response = await client.get(path)
        assert_bare_500(response)
        assert marker not in response.text
    assert "unhandled_error" in logs.text  # the operator still learns something broke
    assert marker not in logs.text


async def test_database_is_usable_after_a_crash(app, client: httpx.AsyncClient, admin) -> None:
    async def duplicate(session: DbSession) -> None:
        session.add(Organisation(code="mun-lukovit", kind="school", name="x"))
        await session.flush()

    app.add_api_route("/test-duplicate", duplicate)
    assert (await client.get("/test-duplicate")).status_code == 500
    created = await client.post(ORGS, headers=admin, json=organisation())
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("method", ["get", "post"])
async def test_unknown_route_is_a_problem_for_any_method(
    client: httpx.AsyncClient, method: str
) -> None:
    response = await client.request(method.upper(), "/nowhere/at/all")
    assert_problem(response, 404)
