"""Bad JSON bodies sent to the endpoints that write child data: each is a clear 4xx problem
pointing at the offending field where there is one, and nothing is written.

The corpus is data: each case takes a valid body of one target endpoint and breaks one thing,
either a JSON value at a pointer or the raw bytes. The valid bodies themselves are accepted
(the first test), so every refusal below is due to the one broken thing.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.alerts.helpers import current_etag, pupil_id, raise_alert
from tests.bad_input.helpers import assert_clear_problem, assert_nothing_written, error_pointers, snapshot
from tests.children.helpers import egn_for

KOPRINKA_PUPIL_PIN = "1152035081"
NEW_PIN = egn_for(datetime.date(2016, 5, 14), serial=731)
JSON = {"Content-Type": "application/json"}
MIB = 1024 * 1024
#: a string spliced out of the dumped body and replaced by raw bytes
MARK = "@@raw@@"


@dataclass
class Targets:
    """Where each valid body goes, as whom, and what it looks like."""

    client: httpx.AsyncClient
    world: Any
    pupil: str = ""
    alert: str = ""
    etag: str = ""

    async def prepare(self, name: str) -> None:
        """What the target's body refers to: a pupil, and for an action an alert about them routed
        to Kazanlak child protection. Made before the test counts the rows."""
        school = await self.world.headers("school-koprinka.staff")
        if name in ("alert", "action"):
            self.pupil = await pupil_id(self.client, school, KOPRINKA_PUPIL_PIN)
        if name == "action":
            self.alert = (await raise_alert(self.client, school, self.pupil))["id"]
            self.etag = await current_etag(self.client, await self.world.headers("cp-kazanlak.cp"), self.alert)

    def of(self, name: str) -> tuple[str, str, dict[str, str], dict[str, Any]]:
        if name == "child":
            return "/api/v1/children", "cp-kazanlak.cp", {}, {
                "pin": NEW_PIN, "given_name": "Йоана-Мария", "family_name": "Стоянова",
                "date_of_birth": "2016-05-14", "sex": "female", "municipality_code": "SZR12",
            }
        if name == "alert":
            return "/api/v1/alerts", "school-koprinka.staff", {}, {
                "child_id": self.pupil, "type": "unexcused_absences", "severity": "concern",
                "details": {"month": "2026-09", "unexcused_hours": 12}, "note": "Не е идвал от три седмици.",
            }
        if name == "action":
            return f"/api/v1/alerts/{self.alert}/actions", "cp-kazanlak.cp", {"If-Match": self.etag}, {
                "kind": "field_visit", "text": "Посещение на адреса.", "result": "not_found", "restricted": False,
            }
        if name == "absences":
            return "/api/v1/absence-reports", "school-koprinka.staff", {}, {
                "rows": [{"pin": KOPRINKA_PUPIL_PIN, "month": "2026-10", "unexcused_hours": 9, "excused_hours": 4}],
            }
        if name == "roster":
            return "/api/v1/enrolments/batch", "school-koprinka.admin", {}, {
                "rows": [{"pin": KOPRINKA_PUPIL_PIN, "given_name": "Ангел", "family_name": "Ангелов", "sex": "male",
                          "grade": 9}],
            }
        if name == "provisional":
            return "/api/v1/children/provisional", "mun-kazanlak.municipal", {}, {
                "given_name": "Стефка", "family_name": "Рашидова", "birth_year": 2014, "sex": "female",
                "settlement_code": "38488",
            }
        raise KeyError(name)


TARGETS = ("child", "alert", "action", "absences", "roster", "provisional")


@dataclass(frozen=True)
class Bad:
    """One bad body: `value` (a JSON value) or `raw` (bytes, unparsed) put at `at` (a JSON
    pointer into the valid body; None for the whole body), or `whole` applied to the valid body's
    bytes. The answer is `status`; its errors name `pointer` (or, for absence rows, `row`);
    its detail says `says`."""

    target: str
    at: str | None = None
    value: Any = None
    raw: bytes | None = None
    whole: Callable[[bytes], bytes] | None = None
    status: int | tuple[int, ...] = 422
    pointer: str | None = None
    row: tuple[int, str] | None = None
    says: str | None = None


def _set(body: Any, pointer: str, value: Any) -> None:
    *parents, last = pointer.strip("/").split("/")
    for part in parents:
        body = body[int(part)] if isinstance(body, list) else body[part]
    if isinstance(body, list):
        body[int(last)] = value
    else:
        body[last] = value


def build(case: Bad, valid: dict[str, Any]) -> bytes:
    body = json.loads(json.dumps(valid))
    if case.at is not None:
        _set(body, case.at, MARK if case.raw is not None else case.value)
    data = json.dumps(body, ensure_ascii=False).encode()
    if case.raw is not None:
        data = data.replace(json.dumps(MARK).encode(), case.raw) if case.at else case.raw
    if case.whole is not None:
        data = case.whole(data)
    return data


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# --- the corpus ---------------------------------------------------------------------------------

#: broken as a whole, the same way for every target
WHOLE_BODY: list[tuple[str, dict[str, Any]]] = [
    # malformed JSON
    ("truncated", {"whole": lambda b: b[:-1], "pointer": "#/", "says": "not valid JSON"}),
    ("cut-mid-string", {"whole": lambda b: b[: b.index(b'":') + 4], "pointer": "#/", "says": "not valid JSON"}),
    ("trailing-comma", {"whole": lambda b: b[:-1] + b",}", "pointer": "#/", "says": "not valid JSON"}),
    ("single-quotes", {"whole": lambda b: b.replace(b'"', b"'"), "pointer": "#/", "says": "not valid JSON"}),
    ("comment", {"whole": lambda b: b"// e-diary export\n" + b, "pointer": "#/", "says": "not valid JSON"}),
    ("two-documents", {"whole": lambda b: b + b, "pointer": "#/", "says": "not valid JSON"}),
    ("raw-nul-between-tokens", {"whole": lambda b: b.replace(b",", b",\x00", 1), "pointer": "#/",
                                "says": "not valid JSON"}),
    ("empty", {"whole": lambda b: b"", "pointer": "#/"}),
    ("whitespace-only", {"whole": lambda b: b" \r\n\t ", "pointer": "#/", "says": "not valid JSON"}),
    # valid JSON of the wrong shape
    ("null", {"whole": lambda b: b"null", "pointer": "#/"}),
    ("array", {"whole": lambda b: b"[" + b + b"]", "pointer": "#/"}),
    ("string", {"whole": lambda b: json.dumps(b.decode()).encode(), "pointer": "#/"}),
    ("number", {"whole": lambda b: b"42", "pointer": "#/"}),
    # deeply nested
    ("nested-arrays-10000", {"whole": lambda b: nested_arrays(10_000), "status": (400, 422), "says": "nested"}),
    ("nested-objects-10000", {"whole": lambda b: nested_objects(10_000), "status": (400, 422), "says": "nested"}),
    ("nested-arrays-100000", {"whole": lambda b: nested_arrays(100_000), "status": (400, 422), "says": "nested"}),
    # not UTF-8
    ("leading-ff-byte", {"whole": lambda b: b"\xff" + b, "status": 400, "says": "UTF-8"}),
    ("windows-1251", {"whole": lambda b: ('{"име":"Ангел",' + b.decode()[1:]).encode("cp1251"), "status": 400,
                      "says": "UTF-8"}),
    ("bad-continuation-byte", {"whole": lambda b: b.replace(b'{"', b'{"\xc3\x28', 1), "status": 400, "says": "UTF-8"}),
]

#: breaks one value of one target
FIELDS: list[tuple[str, Bad]] = [
    # wrong types
    ("child-pin-number", Bad("child", "/pin", value=1152035081, pointer="#/pin")),
    ("child-name-list", Bad("child", "/given_name", value=["Йоана"], pointer="#/given_name")),
    ("child-name-object", Bad("child", "/family_name", value={"bg": "Стоянова"}, pointer="#/family_name")),
    ("child-name-null", Bad("child", "/given_name", value=None, pointer="#/given_name")),
    ("child-sex-bool", Bad("child", "/sex", value=True, pointer="#/sex")),
    ("child-date-words", Bad("child", "/date_of_birth", value="вчера", pointer="#/date_of_birth")),
    ("child-date-number", Bad("child", "/date_of_birth", value=20160514, pointer="#/date_of_birth")),
    ("child-date-impossible", Bad("child", "/date_of_birth", value="2016-02-30", pointer="#/date_of_birth")),
    ("alert-child-id-number", Bad("alert", "/child_id", value=42, pointer="#/child_id")),
    ("alert-child-id-not-uuid", Bad("alert", "/child_id", value="' OR 1=1 --", pointer="#/child_id")),
    ("alert-type-null", Bad("alert", "/type", value=None, pointer="#/type")),
    ("alert-severity-list", Bad("alert", "/severity", value=["urgent"], pointer="#/severity")),
    ("alert-details-string", Bad("alert", "/details", value="12 часа", pointer="#/details")),
    ("alert-details-list", Bad("alert", "/details", value=[1, 2], pointer="#/details")),
    ("alert-hours-string-words", Bad("alert", "/details/unexcused_hours", value="дванадесет",
                                     pointer="#/details/unexcused_hours")),
    ("alert-hours-fraction", Bad("alert", "/details/unexcused_hours", value=12.5,
                                 pointer="#/details/unexcused_hours")),
    ("alert-hours-nan", Bad("alert", "/details/unexcused_hours", raw=b"NaN", pointer="#/details/unexcused_hours")),
    ("alert-hours-infinity", Bad("alert", "/details/unexcused_hours", raw=b"-Infinity",
                                 pointer="#/details/unexcused_hours")),
    ("alert-hours-1e400", Bad("alert", "/details/unexcused_hours", raw=b"1e400",
                              pointer="#/details/unexcused_hours")),
    ("alert-hours-2-to-64", Bad("alert", "/details/unexcused_hours", value=2**64,
                                pointer="#/details/unexcused_hours")),
    ("alert-hours-5000-digits", Bad("alert", "/details/unexcused_hours", raw=b"9" * 5000, status=(400, 422),
                                    says="digits")),
    ("alert-note-number", Bad("alert", "/note", value=7, pointer="#/note")),
    ("action-kind-number", Bad("action", "/kind", value=1, pointer="#/kind")),
    ("action-restricted-string", Bad("action", "/restricted", value="може би", pointer="#/restricted")),
    ("action-text-list", Bad("action", "/text", value=["a"], pointer="#/text")),
    ("absences-rows-object", Bad("absences", "/rows", value={"pin": KOPRINKA_PUPIL_PIN}, pointer="#/rows")),
    ("absences-rows-empty", Bad("absences", "/rows", value=[], pointer="#/rows")),
    ("absences-row-string", Bad("absences", "/rows/0", value="1152035081;2026-10;9;4", pointer="#/rows/0")),
    ("absences-pin-number", Bad("absences", "/rows/0/pin", value=1152035081, row=(1, "pin"))),
    ("absences-pin-list", Bad("absences", "/rows/0/pin", value=[KOPRINKA_PUPIL_PIN], row=(1, "pin"))),
    ("absences-hours-bool", Bad("absences", "/rows/0/unexcused_hours", value=True, row=(1, "unexcused_hours"))),
    ("absences-hours-negative", Bad("absences", "/rows/0/excused_hours", value=-4, row=(1, "excused_hours"))),
    ("absences-hours-nan", Bad("absences", "/rows/0/unexcused_hours", raw=b"NaN", row=(1, "unexcused_hours"))),
    ("absences-month-number", Bad("absences", "/rows/0/month", value=202610, row=(1, "month"))),
    # nested inside a field
    ("alert-details-nested-10000", Bad("alert", "/details/month", raw=nested_arrays(10_000), status=(400, 422),
                                       says="nested")),
    ("alert-details-nested-900", Bad("alert", "/details/month", raw=nested_arrays(900), status=(400, 422),
                                     says="nested")),
    ("alert-details-nested-600", Bad("alert", "/details/month", raw=nested_objects(600), pointer="#/details",
                                     says="nested")),
    ("alert-details-nested-100", Bad("alert", "/details/month", raw=nested_arrays(100), pointer="#/details")),
    ("absences-row-nested-600", Bad("absences", "/rows/0/pin", raw=nested_arrays(600), pointer="#/rows",
                                    says="nested")),
    ("child-name-nested-600", Bad("child", "/given_name", raw=nested_arrays(600), pointer="#/given_name")),
    # huge strings (the body limit is 1 MiB)
    ("child-name-10-mb", Bad("child", "/given_name", value="Я" * (5 * MIB), status=413)),
    ("child-name-900-kb", Bad("child", "/given_name", value="Я" * 450_000, pointer="#/given_name")),
    ("alert-note-900-kb", Bad("alert", "/note", value="б" * 450_000, pointer="#/note")),
    ("alert-details-huge-key", Bad("alert", "/details", value={"м" * 450_000: 1}, pointer="#/details")),
    ("action-text-900-kb", Bad("action", "/text", value="x" * 900_000, pointer="#/text")),
    ("absences-pin-900-kb", Bad("absences", "/rows/0/pin", value="1" * 900_000, row=(1, "pin"))),
    ("absences-many-rows-over-1-mib", Bad("absences", "/rows", value=[{"pin": "1152035081"}] * 60_000, status=413)),
    # not UTF-8 inside a string
    ("child-name-ff-byte", Bad("child", "/given_name", raw=b'"\xff\xfe"', status=400, says="UTF-8")),
    ("child-name-overlong-slash", Bad("child", "/given_name", raw=b'"\xc0\xaf"', status=400, says="UTF-8")),
    ("child-name-half-a-letter", Bad("child", "/family_name", raw=b'"\xd0\xa1\xd1"', status=400, says="UTF-8")),
    # (Python's JSON reader lets encoded surrogates through as lone surrogates: refused as text below)
    ("child-name-cesu-surrogate", Bad("child", "/given_name", raw=b'"\xed\xa0\x80"', pointer="#/given_name")),
    ("alert-note-cp1251", Bad("alert", "/note", raw='"Не идва"'.encode("cp1251"), status=400, says="UTF-8")),
    ("absences-pin-ff-byte", Bad("absences", "/rows/0/pin", raw=b'"115203508\xff"', status=400, says="UTF-8")),
    # valid JSON, but text no database can store: an escaped lone surrogate
    ("child-name-lone-surrogate", Bad("child", "/given_name", raw=b'"\\ud800"', pointer="#/given_name")),
    ("child-name-low-surrogate", Bad("child", "/family_name", raw=b'"\\udfff\\u0430"', pointer="#/family_name")),
    ("alert-note-lone-surrogate", Bad("alert", "/note", raw=b'"\\ud83d"', pointer="#/note")),
    ("alert-details-key-surrogate", Bad("alert", "/details", raw=b'{"\\udc00": 1}', pointer="#/details")),
    ("action-text-lone-surrogate", Bad("action", "/text", raw=b'"\\ud800x"', pointer="#/text")),
    ("absences-pin-lone-surrogate", Bad("absences", "/rows/0/pin", raw=b'"\\ud800"', pointer="#/rows")),
    # NUL: escaped in JSON (valid JSON; PostgreSQL cannot store it) and as a raw byte (invalid JSON)
    ("child-name-escaped-nul", Bad("child", "/given_name", value="Йо\u0000ана", pointer="#/given_name")),
    ("child-pin-escaped-nul", Bad("child", "/pin", value=NEW_PIN + "\u0000", pointer="#/pin")),
    ("child-name-only-nul", Bad("child", "/family_name", value="\u0000", pointer="#/family_name")),
    ("alert-note-escaped-nul", Bad("alert", "/note", value="бележка\u0000", pointer="#/note")),
    ("alert-details-value-nul", Bad("alert", "/details/month", value="2026-09\u0000", pointer="#/details")),
    ("alert-details-key-nul", Bad("alert", "/details", value={"month\u0000": "2026-09"}, pointer="#/details")),
    ("action-text-escaped-nul", Bad("action", "/text", value="\u0000посещение", pointer="#/text")),
    ("absences-pin-escaped-nul", Bad("absences", "/rows/0/pin", value="1152035081\u0000", pointer="#/rows")),
    ("absences-key-escaped-nul", Bad("absences", "/rows/0", value={"pin\u0000": "1"}, pointer="#/rows")),
    ("child-name-raw-nul", Bad("child", "/given_name", raw=b'"\xd0\x99\x00"', pointer="#/", says="not valid JSON")),
    ("alert-note-raw-nul", Bad("alert", "/note", raw=b'"a\x00b"', pointer="#/", says="not valid JSON")),
    ("absences-pin-raw-nul", Bad("absences", "/rows/0/pin", raw=b'"1152035081\x00"', pointer="#/",
                                 says="not valid JSON")),
    # rosters and provisional children
    ("roster-rows-object", Bad("roster", "/rows", value={"pin": KOPRINKA_PUPIL_PIN}, pointer="#/rows")),
    ("roster-rows-empty", Bad("roster", "/rows", value=[], pointer="#/rows")),
    ("roster-row-string", Bad("roster", "/rows/0", value="1152035081;Ангел;Ангелов;м;9", pointer="#/rows/0")),
    ("roster-pin-number", Bad("roster", "/rows/0/pin", value=1152035081, row=(1, "pin"))),
    ("roster-name-list", Bad("roster", "/rows/0/given_name", value=["Ангел"], row=(1, "given_name"))),
    ("roster-grade-bool", Bad("roster", "/rows/0/grade", value=True, row=(1, "grade"))),
    ("roster-grade-13", Bad("roster", "/rows/0/grade", value=13, row=(1, "grade"))),
    ("roster-grade-fraction", Bad("roster", "/rows/0/grade", value=9.5, row=(1, "grade"))),
    ("roster-name-lone-surrogate", Bad("roster", "/rows/0/given_name", raw=b'"\\ud800"', pointer="#/rows")),
    ("roster-name-escaped-nul", Bad("roster", "/rows/0/family_name", value="Анге\u0000лов", pointer="#/rows")),
    ("roster-start-date-words", Bad("roster", "/start_date", value="утре", pointer="#/start_date")),
    ("roster-many-rows-over-1-mib", Bad("roster", "/rows", value=[{"pin": "1152035081"}] * 60_000, status=413)),
    ("provisional-year-words", Bad("provisional", "/birth_year", value="около 2014", pointer="#/birth_year")),
    ("provisional-year-too-old", Bad("provisional", "/birth_year", value=1900, pointer="#/birth_year")),
    ("provisional-settlement-number", Bad("provisional", "/settlement_code", value=38488,
                                          pointer="#/settlement_code")),
    ("provisional-settlement-unknown", Bad("provisional", "/settlement_code", value="99999",
                                           pointer="#/settlement_code")),
    ("provisional-sex-other", Bad("provisional", "/sex", value="x", pointer="#/sex")),
    ("provisional-name-lone-surrogate", Bad("provisional", "/given_name", raw=b'"\\ud800"', pointer="#/given_name")),
    ("provisional-name-mixed-scripts", Bad("provisional", "/family_name", value="Рaшидова", pointer="#/family_name")),
    ("provisional-pin-given", Bad("provisional", "/pin", value=KOPRINKA_PUPIL_PIN, pointer="#/pin")),
]

CASES = [
    pytest.param(Bad(target, **spec), id=f"{target}-{name}") for name, spec in WHOLE_BODY for target in TARGETS
] + [pytest.param(case, id=name) for name, case in FIELDS]


@pytest.fixture(autouse=True)
def november_2026(app: Any) -> None:
    app.state.clock = lambda: datetime.date(2026, 11, 23)


@pytest.fixture
def targets(client: httpx.AsyncClient, world: Any) -> Targets:
    return Targets(client, world)


async def post(client: httpx.AsyncClient, world: Any, targets: Targets, case: Bad) -> httpx.Response:
    path, username, headers, valid = targets.of(case.target)
    return await client.post(
        path, content=build(case, valid), headers={**await world.headers(username), **headers, **JSON}
    )


@pytest.mark.parametrize("target", TARGETS)
async def test_the_valid_body_of_each_target_is_accepted(client, world, targets, target):
    await targets.prepare(target)
    response = await post(client, world, targets, Bad(target))
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize("case", CASES)
async def test_a_bad_json_body_is_a_clear_4xx_problem_and_writes_nothing(client, world, database, targets, case):
    await targets.prepare(case.target)
    before = await snapshot(database)

    response = await post(client, world, targets, case)

    body = assert_clear_problem(response, case.status)
    if case.pointer is not None:
        assert case.pointer in error_pointers(body), body
    if case.row is not None:
        assert case.row in [(e.get("row"), e.get("field")) for e in body.get("errors", [])], body
    if case.says is not None:
        assert case.says.lower() in body["detail"].lower(), body
    await assert_nothing_written(database, before)
