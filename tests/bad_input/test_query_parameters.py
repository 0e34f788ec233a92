"""Bad query parameters found by the outside review to answer 500: timestamps without a zone,
cursors out of range or not made by the service, report months outside the calendar and an
audit export that failed after answering 200. Each is a 4xx problem naming the parameter."""

from __future__ import annotations

import base64
import json

import pytest

from tests.bad_input.helpers import assert_clear_problem

AUDITOR = "rue-lovech.auditor"


def _cursor(key: object) -> str:
    """A cursor as the service encodes one, around any key."""
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parameters(body: dict) -> list[str]:
    return [entry["parameter"] for entry in body.get("errors", []) if "parameter" in entry]


@pytest.mark.parametrize(
    ("username", "path", "parameter"),
    [
        ("cp-kazanlak.cp", "/api/v1/alerts", "since"),
        (AUDITOR, "/api/v1/audit/events", "from"),
        (AUDITOR, "/api/v1/audit/events", "to"),
        (AUDITOR, "/api/v1/audit/events/export", "from"),
        (AUDITOR, "/api/v1/audit/events/export", "to"),
    ],
)
@pytest.mark.parametrize("value", ["2026-11-01T00:00:00", "2026-11-01", "2026-11-01T10:00"])
async def test_a_timestamp_without_a_zone_is_a_422_naming_the_parameter(
    client, world, username, path, parameter, value
):
    response = await client.get(path, params={parameter: value}, headers=await world.headers(username))

    body = assert_clear_problem(response, 422)
    assert _parameters(body) == [parameter]
    assert "zone" in json.dumps(body)


@pytest.mark.parametrize("value", ["2026-11-01T00:00:00Z", "2026-11-01T02:00:00+02:00"])
async def test_a_timestamp_with_a_zone_is_accepted(client, world, value):
    alerts = await client.get("/api/v1/alerts", params={"since": value}, headers=await world.headers("cp-kazanlak.cp"))
    events = await client.get("/api/v1/audit/events", params={"from": value}, headers=await world.headers(AUDITOR))

    assert (alerts.status_code, events.status_code) == (200, 200), (alerts.text, events.text)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
async def test_a_timestamp_beyond_the_calendar_is_a_422(client, world, value):
    alerts = await client.get("/api/v1/alerts", params={"since": value}, headers=await world.headers("cp-kazanlak.cp"))
    events = await client.get("/api/v1/audit/events", params={"to": value}, headers=await world.headers(AUDITOR))

    assert _parameters(assert_clear_problem(alerts, 422)) == ["since"]
    assert _parameters(assert_clear_problem(events, 422)) == ["to"]


FEED_CURSORS = [
    pytest.param(_cursor([2**63]), id="2**63"),
    pytest.param(_cursor([2**64 + 1]), id="2**64+1"),
    pytest.param(_cursor([10**400]), id="10**400"),
    pytest.param(_cursor([-1]), id="negative"),
    pytest.param(_cursor([1.5]), id="float"),
    pytest.param(_cursor([True]), id="boolean"),
    pytest.param(_cursor(["7"]), id="string"),
    pytest.param(_cursor([[1]]), id="nested"),
    pytest.param(_cursor({"seq": 1}), id="object"),
    pytest.param(_cursor([1, 2]), id="two-keys"),
    pytest.param("bm90IGpzb24", id="not-json"),
    pytest.param("%%%%", id="not-base64"),
    pytest.param(base64.urlsafe_b64encode(b"\xff\xfe[1]").decode(), id="not-utf8"),
]


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("cp-kazanlak.cp", "/api/v1/inbox"),
        (AUDITOR, "/api/v1/audit/events"),
        (AUDITOR, "/api/v1/audit/break-glass"),
    ],
)
@pytest.mark.parametrize("cursor", FEED_CURSORS)
async def test_a_feed_cursor_out_of_range_or_not_issued_is_a_422(client, world, username, path, cursor):
    response = await client.get(path, params={"after": cursor}, headers=await world.headers(username))

    assert _parameters(assert_clear_problem(response, 422)) == ["after"]


async def test_the_largest_feed_position_is_an_empty_last_page(client, world):
    last = _cursor([2**63 - 1])
    inbox = await client.get("/api/v1/inbox", params={"after": last}, headers=await world.headers("cp-kazanlak.cp"))
    events = await client.get("/api/v1/audit/events", params={"after": last}, headers=await world.headers(AUDITOR))

    assert (inbox.status_code, events.status_code) == (200, 200), (inbox.text, events.text)
    assert inbox.json()["items"] == [] and events.json()["items"] == []


TIME_CURSORS = [
    pytest.param(_cursor(["2026-11-01T00:00:00", "0b8f6a52-64c6-4c1e-8a0e-3f1f4b9d8c11"]), id="no-zone"),
    pytest.param(_cursor(["0001-01-01T00:00:00+14:00", "0b8f6a52-64c6-4c1e-8a0e-3f1f4b9d8c11"]), id="year-0"),
    pytest.param(_cursor([2**63, "0b8f6a52-64c6-4c1e-8a0e-3f1f4b9d8c11"]), id="number"),
    pytest.param(_cursor(["2026-11-01T00:00:00+00:00", 7]), id="id-number"),
    pytest.param(_cursor(["2026-11-01T00:00:00+00:00", "not-a-uuid"]), id="id-garbage"),
    pytest.param(_cursor([2**63]), id="one-key"),
]


@pytest.mark.parametrize("cursor", TIME_CURSORS)
async def test_an_alert_list_cursor_not_issued_by_the_service_is_a_422(client, world, cursor):
    officer = await world.headers("cp-kazanlak.cp")
    response = await client.get("/api/v1/alerts", params={"after": cursor}, headers=officer)

    assert _parameters(assert_clear_problem(response, 422)) == ["after"]


@pytest.mark.parametrize("path", ["/api/v1/organisations", "/api/v1/users"])
@pytest.mark.parametrize(
    "cursor",
    [_cursor([2**63]), _cursor([None]), _cursor([{"a": 1}]), _cursor([["x"]]), _cursor(["x" * 300])],
    ids=["number", "null", "object", "list", "long"],
)
async def test_an_admin_list_cursor_not_issued_by_the_service_is_a_422(client, world, admin, path, cursor):
    response = await client.get(path, params={"after": cursor}, headers=admin)

    assert _parameters(assert_clear_problem(response, 422)) == ["after"]


@pytest.mark.parametrize("parameter", ["from", "to"])
@pytest.mark.parametrize("value", ["0001-01", "9999-12", "0001-01-01", "9999-12-31", "10000-01", "2026-13"])
async def test_a_report_month_outside_the_calendar_is_a_422(client, world, parameter, value):
    response = await client.get(
        "/api/v1/reports/summary", params={"municipality": "SZR12", parameter: value},
        headers=await world.headers(AUDITOR),
    )

    assert _parameters(assert_clear_problem(response, 422)) == [parameter]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("from", "2026-11-01T00:00:00"),
        ("to", "0001-01-01T00:00:00+14:00"),
        ("child_id", "not-a-uuid"),
        ("format", "xlsx"),
        ("decision", "maybe"),
    ],
)
async def test_an_audit_export_with_a_bad_parameter_is_refused_before_the_first_byte(client, world, parameter, value):
    async with client.stream(
        "GET", "/api/v1/audit/events/export", params={parameter: value}, headers=await world.headers(AUDITOR)
    ) as response:
        await response.aread()

    assert _parameters(assert_clear_problem(response, 422)) == [parameter]
