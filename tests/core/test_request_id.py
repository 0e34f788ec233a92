"""X-Request-ID: a well-formed id from the caller is kept, anything else is replaced; the id is
echoed on every answer (errors included) and names the request's log line."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.core.helpers import LogCapture, assert_problem

GENERATED = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


async def test_well_formed_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    for offered in ("abc-123", "7f3e9c2a-1b4d-4e8f-9a6b-0c1d2e3f4a5b", "lb:node-7.req_42"):
        response = await client.get("/healthz", headers={"X-Request-ID": offered})
        assert response.headers["x-request-id"] == offered


@pytest.mark.parametrize(
    "offered",
    ["has spaces in it", "x" * 500, "line\tbreak", "quote\"d", "<script>", "",
     "кирилица"],
)
async def test_malformed_request_id_is_replaced(client: httpx.AsyncClient, offered: str) -> None:
    headers = {"X-Request-ID": offered.encode("utf-8")}
    response = await client.get("/healthz", headers=headers)
    echoed = response.headers["x-request-id"]
    assert echoed != offered
    assert GENERATED.match(echoed), echoed


async def test_each_request_gets_its_own_id(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


async def test_problem_answers_carry_the_same_id_in_header_and_body(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/organisations", headers={"X-Request-ID": "trace-401"})
    body = assert_problem(response, 401)
    assert response.headers["x-request-id"] == "trace-401"
    assert body["request_id"] == "trace-401"


async def test_replaced_id_is_the_one_in_the_body_and_the_log(client: httpx.AsyncClient) -> None:
    logs = LogCapture()
    response = await client.get("/api/v1/organisations", headers={"X-Request-ID": "bad id"})
    body = assert_problem(response, 401)
    assigned = response.headers["x-request-id"]
    assert body["request_id"] == assigned
    assert len(logs.requests(assigned)) == 1
    assert "bad id" not in logs.text


async def test_413_answers_carry_the_request_id(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/organisations",
        headers={"X-Request-ID": "big-1", "Content-Type": "application/json"},
        content=b" " * (1024 * 1024 + 1),
    )
    body = assert_problem(response, 413)
    assert response.headers["x-request-id"] == "big-1"
    assert body["request_id"] == "big-1"


async def test_request_id_is_echoed_exactly_once(client: httpx.AsyncClient, app) -> None:
    async def crash() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/test-crash", crash)
    for path in ("/healthz", "/api/v1/organisations", "/test-crash"):
        response = await client.get(path, headers={"X-Request-ID": "once"})
        assert response.headers.get_list("x-request-id") == ["once"], path
