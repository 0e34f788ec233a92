"""Schemathesis fuzzing of every operation in the committed OpenAPI, as every role.

Each case schemathesis draws for an operation (valid and invalid input alike) is sent to the app
in-process by one demo user of each role and by an anonymous caller, and every answer is checked:
no 5xx, a status code the operation documents, the documented content type, and a body that
matches the documented schema. Half the time a drawn id is swapped for a real one (a demo pupil,
an alert raised for the fuzzing, an organisation, a user), so requests also reach the logic
behind the 404.

The demo world is loaded once per module; each test runs in a savepoint rolled back afterwards.
The suite draws a few cases per operation; `make fuzz` draws more (OBHVAT_FUZZ_EXAMPLES).
PostgreSQL only: the SQLite half would double the time for little gain.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks
from schemathesis.errors import FailureGroup
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.access.vocabulary import Role
from service.auth import throttle
from service.core.database import Database
from service.schemas_export import SCHEMAS_DIR
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, current_etag, pupil_id, raise_alert
from tests.conftest import (
    DEMO_PASSWORD,
    World,
    asgi_client,
    demo_world,
    make_app,
    make_settings,
    rolled_back_connection,
)

SCHEMA = schemathesis.openapi.from_path(SCHEMAS_DIR / "openapi.json")
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
MAX_EXAMPLES = int(os.environ.get("OBHVAT_FUZZ_EXAMPLES", "3"))

#: one demo user per role, in the municipality of Kazanlak wherever the role is held there
CALLERS: dict[Role, str] = {
    Role.school_staff: "school-koprinka.staff",
    Role.school_admin: "school-koprinka.admin",
    Role.cp_officer: "cp-kazanlak.cp",
    Role.police_officer: "police-kazanlak.police",
    Role.municipal_coordinator: "mun-kazanlak.municipal",
    Role.provider_worker: "provider-kazanlak.provider",
    Role.education_officer: "rue-stara-zagora.education",
    Role.commission_officer: "mkbppmn-kazanlak.commission",
    Role.auditor: "rue-lovech.auditor",
    Role.admin: "platform.admin",
}

TOKEN = "/api/v1/auth/token"
FORM = "application/x-www-form-urlencoded"

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@dataclass
class Fuzzing:
    client: httpx.AsyncClient
    #: bearer headers by role, and none for the anonymous caller
    callers: dict[str, dict[str, str]]
    #: real values, by the names of the parameters and body fields that take them
    known: dict[str, list[Any]]


async def _known_values(world: World, client: httpx.AsyncClient) -> dict[str, list[Any]]:
    staff = await world.headers(CALLERS[Role.school_staff])
    children = [await pupil_id(client, staff, pin) for pin in KOPRINKA_PUPIL_PINS]
    alerts = [
        await raise_alert(client, staff, children[0]),
        await raise_alert(client, staff, children[1], "whereabouts_unknown", severity="urgent"),
    ]
    etags = [await current_etag(client, staff, alert["id"]) for alert in alerts]
    users, organisations = [], []
    for username in CALLERS.values():
        me = (await client.get("/api/v1/me", headers=await world.headers(username))).json()
        users.append(me["id"])
        if me["organisation"]:
            organisations.append(me["organisation"]["id"])
    return {
        "child_id": children,
        "pin": list(KOPRINKA_PUPIL_PINS),
        "alert_id": [alert["id"] for alert in alerts],
        "If-Match": etags,
        "organisation_id": organisations,
        "school_id": organisations,
        "recipient_id": organisations,
        "user_id": users,
        "grant_type": ["password", "client_credentials"],
        "username": list(CALLERS.values()),
        "password": [DEMO_PASSWORD],
    }


@pytest.fixture(scope="module")
async def module_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection in a transaction rolled back after the module."""
    async with rolled_back_connection(engine) as connection:
        yield connection


@pytest.fixture(scope="module")
async def module_fuzzing(
    engine: AsyncEngine, module_connection: AsyncConnection, keys_dir: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Fuzzing]:
    """The demo world, loaded once for all operations, and its callers and known values."""
    database = Database(engine, bind=module_connection, link_in_request=True)
    settings = make_settings(tmp_path_factory.mktemp("fuzz"), keys_dir)
    world = await demo_world(make_app(settings, database), database, settings)
    async with asgi_client(world.app) as client:
        callers = {"anonymous": {}} | {role.value: await world.headers(user) for role, user in CALLERS.items()}
        yield Fuzzing(client, callers, await _known_values(world, client))


@pytest.fixture
async def fuzzing(module_fuzzing: Fuzzing, module_connection: AsyncConnection) -> AsyncIterator[Fuzzing]:
    """What one test's requests change is rolled back to the module's world after it."""
    savepoint = await module_connection.begin_nested()
    yield module_fuzzing
    if savepoint.is_active:
        await savepoint.rollback()


def test_every_role_is_fuzzed():
    assert set(CALLERS) == set(Role)


def _login(username: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password}


_CONTAINERS = {"path": "path_parameters", "query": "query", "header": "headers"}


def _plant_known_values(case: schemathesis.Case, known: dict[str, list[Any]], data: st.DataObject) -> None:
    """Swaps, each with even odds, a drawn parameter or top-level body field for a real value."""
    for parameter in case.operation.iter_parameters():
        attribute = _CONTAINERS.get(str(parameter.location.value))
        if attribute and parameter.name in known and data.draw(st.booleans()):
            container = getattr(case, attribute) or {}
            container[parameter.name] = data.draw(st.sampled_from(known[parameter.name]))
            setattr(case, attribute, container)
    if isinstance(case.body, dict):
        for name in [name for name in case.body if name in known]:
            if data.draw(st.booleans()):
                case.body[name] = data.draw(st.sampled_from(known[name]))


async def _send(client: httpx.AsyncClient, case: schemathesis.Case, headers: dict[str, str]) -> httpx.Response:
    """Sends the request exactly as schemathesis serialises it, through the test's ASGI client."""
    prepared = requests.Request(**case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)).prepare()
    assert prepared.method is not None and prepared.url is not None
    return await client.request(prepared.method, prepared.url, headers=dict(prepared.headers), content=prepared.body)


@pytest.mark.postgres_only
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
async def test_operation_keeps_its_contract_for_every_role(operation: Any, fuzzing: Fuzzing):
    callers = fuzzing.callers
    if not operation.definition.raw.get("security"):  # a public operation answers everyone alike
        callers = {"anonymous": callers["anonymous"]}
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        # drawing bodies from the larger schemas is slow, and nine requests per case more so
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=st.one_of([operation.as_strategy(generation_mode=mode) for mode in GenerationMode]), data=st.data())
    def fuzz(case: schemathesis.Case, data: st.DataObject) -> None:
        _plant_known_values(case, fuzzing.known, data)
        for caller, headers in callers.items():
            response = asyncio.run_coroutine_threadsafe(_send(fuzzing.client, case, headers), loop).result()
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as failure:
                raise AssertionError(f"{operation.label} sent as {caller} broke its contract") from failure

    # hypothesis runs in a thread; the requests run on this loop, where the module's connection lives
    await asyncio.to_thread(fuzz)


@pytest.mark.postgres_only
async def test_a_login_refused_after_many_failures_keeps_the_contract(fuzzing: Fuzzing):
    """The throttle's 429 takes more failed logins than the fuzzing draws, so it is provoked here."""
    for attempt in range(throttle.ADDRESS_LIMIT):
        failed = await fuzzing.client.post(TOKEN, data=_login(f"nobody-{attempt}", "wrong-password"))
        assert failed.status_code == 401
    case = SCHEMA[TOKEN]["POST"].Case(body=_login("nobody", "wrong-password"), media_type=FORM)
    refused = await _send(fuzzing.client, case, {})
    assert refused.status_code == 429
    case.validate_response(refused, checks=CHECKS)
