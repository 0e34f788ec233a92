"""Bodies over 1 MiB are refused with a 413 problem, whether or not the client declares the
length; bodies up to the limit are processed; odd but small bodies are clear 4xx problems."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from tests.core.helpers import assert_problem, pointers

ORGS = "/api/v1/organisations"
MIB = 1024 * 1024


def padded_organisation(code: str, total: int) -> bytes:
    """A valid organisation body padded with JSON whitespace to exactly `total` bytes."""
    body = json.dumps(
        {"code": code, "kind": "school", "name": "Училище", "municipality_codes": ["LOV19"]},
        ensure_ascii=False,
    ).encode()
    assert len(body) < total
    return body[:-1] + b" " * (total - len(body)) + b"}"


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def codes(client: httpx.AsyncClient, admin: dict[str, str]) -> list[str]:
    listed = await client.get(ORGS, params={"limit": 200}, headers=admin)
    assert listed.status_code == 200
    return [o["code"] for o in listed.json()["items"]]


async def test_declared_body_over_1_mib_is_a_413_problem(client: httpx.AsyncClient, admin) -> None:
    body = padded_organisation("too-big-declared", MIB + 1)
    response = await client.post(
        ORGS, headers={**admin, "Content-Type": "application/json"}, content=body
    )
    problem = assert_problem(response, 413)
    assert problem["request_id"] == response.headers["x-request-id"]
    assert "too-big-declared" not in await codes(client, admin)


async def test_streamed_body_over_1_mib_without_length_is_a_413_problem(
    client: httpx.AsyncClient, admin
) -> None:
    body = padded_organisation("too-big-streamed", 2 * MIB)
    response = await client.post(
        ORGS, headers={**admin, "Content-Type": "application/json"}, content=chunks(body)
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_problem(response, 413)
    assert "too-big-streamed" not in await codes(client, admin)


async def test_lying_content_length_does_not_bypass_the_limit(
    client: httpx.AsyncClient, admin
) -> None:
    """A small declared length with a big streamed body is still cut off at the limit."""
    body = padded_organisation("too-big-lying", MIB + 4096)
    response = await client.post(
        ORGS,
        headers={**admin, "Content-Type": "application/json", "Content-Length": "100"},
        content=chunks(body),
    )
    assert response.status_code in (400, 413), response.text
    assert_problem(response, response.status_code)
    assert "too-big-lying" not in await codes(client, admin)


async def test_body_of_exactly_1_mib_is_processed(client: httpx.AsyncClient, admin) -> None:
    body = padded_organisation("just-fits", MIB)
    response = await client.post(
        ORGS, headers={**admin, "Content-Type": "application/json"}, content=body
    )
    assert response.status_code == 201, response.text[:500]
    assert response.json()["code"] == "just-fits"


async def test_streamed_body_just_under_1_mib_is_processed(
    client: httpx.AsyncClient, admin
) -> None:
    body = padded_organisation("just-fits-streamed", MIB - 10)
    response = await client.post(
        ORGS, headers={**admin, "Content-Type": "application/json"}, content=chunks(body)
    )
    assert response.status_code == 201, response.text[:500]
    assert "just-fits-streamed" in await codes(client, admin)


async def test_huge_name_is_a_clear_422_not_a_crash(client: httpx.AsyncClient, admin) -> None:
    response = await client.post(
        ORGS,
        headers=admin,
        json={"code": "huge-name", "kind": "school", "name": "Я" * 450_000,
              "municipality_codes": ["LOV19"]},
    )
    body = assert_problem(response, 422)
    assert pointers(body) == ["#/name"]
    assert len(response.content) < 10_000  # the answer does not echo the huge value back


async def test_many_list_items_are_a_clear_422(client: httpx.AsyncClient, admin) -> None:
    response = await client.post(
        ORGS,
        headers=admin,
        json={"code": "many-codes", "kind": "school", "name": "x",
              "municipality_codes": ["LOV19"] * 50_000},
    )
    body = assert_problem(response, 422)
    assert pointers(body) == ["#/municipality_codes"]
    assert len(response.content) < 10_000


async def test_invalid_utf8_is_a_4xx_problem(client: httpx.AsyncClient, admin) -> None:
    response = await client.post(
        ORGS,
        headers={**admin, "Content-Type": "application/json"},
        content=b'{"code":"bad-\xff\xfe","kind":"school","name":"x","municipality_codes":["LOV19"]}',
    )
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)


async def test_malformed_json_is_a_4xx_problem(client: httpx.AsyncClient, admin) -> None:
    response = await client.post(
        ORGS, headers={**admin, "Content-Type": "application/json"}, content=b'{"code": "x",'
    )
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)


async def test_raw_nul_byte_in_json_is_a_4xx_problem(client: httpx.AsyncClient, admin) -> None:
    response = await client.post(
        ORGS,
        headers={**admin, "Content-Type": "application/json"},
        content=b'{"code":"nul-raw","kind":"school","name":"a\x00b","municipality_codes":["LOV19"]}',
    )
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)
    assert "nul-raw" not in await codes(client, admin)


async def test_escaped_nul_in_a_name_is_a_4xx_problem(client: httpx.AsyncClient, admin) -> None:
    response = await client.post(
        ORGS,
        headers=admin,
        json={"code": "nul-escaped", "kind": "school", "name": "a\u0000b",
              "municipality_codes": ["LOV19"]},
    )
    body = assert_problem(response, 422)
    assert pointers(body) == ["#/name"]
    assert "nul-escaped" not in await codes(client, admin)


async def test_nul_in_a_query_string_is_a_400_problem(client: httpx.AsyncClient, admin) -> None:
    response = await client.get("/api/v1/audit/events?actor_id=a%00b", headers=admin)
    assert_problem(response, 400)


async def test_nul_in_a_login_form_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "a\x00b", "password": "x" * 12},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/username"


def test_every_operation_that_takes_a_body_documents_the_413(app) -> None:
    operations = [
        (method, path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    assert len(operations) > 10
    undocumented = [(method, path) for method, path, operation in operations if "413" not in operation["responses"]]
    assert not undocumented
