"""The auditor's event search: who did what to which record, when, why and with what decision.
An alert's id gives its whole trail. Organisations by name; no child names anywhere."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.access.policy import require
from service.access.vocabulary import Action
from service.audit.repository import EventFilter
from service.auditor import service as auditing
from service.auditor.schemas import AuditEventRead
from service.core.database import DbSession
from service.web.dependencies import SignedInPerson
from service.web.forms import FormErrors
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.views import organisation_names, person_view

router = APIRouter(include_in_schema=False, tags=["console"])


def _uuid_or_error(value: str, name: str, errors: FormErrors) -> uuid.UUID | None:
    if not value.strip():
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        errors.add(name, N_("Enter an identifier as it is shown on the record"))
        return None


@router.get("/audit")
async def audit_search(
    request: Request,
    session: DbSession,
    person: SignedInPerson,
    record: str = "",
    child: str = "",
    decision: str = "",
) -> Response:
    require(person.principal, Action.read_audit)
    errors = FormErrors()
    record_id = _uuid_or_error(record, "record", errors)
    child_id = _uuid_or_error(child, "child", errors)
    searched = bool(record.strip() or child.strip() or decision)
    where = EventFilter(
        resource_id=str(record_id) if record_id else None,
        child_id=child_id,
        decision=decision if decision in ("allow", "deny") else None,
    )
    events: list[AuditEventRead] = []
    if searched and not errors:
        events, _ = await auditing.search_events(
            session, actor=person.principal, purpose=None, where=where, after_seq=0, limit=200
        )
    names = await organisation_names(session, [e.actor_organisation_id for e in events])
    return renderer(request).page(
        request,
        "audit.html",
        {
            "person": await person_view(session, person),
            "events": events,
            "names": names,
            "searched": searched,
            "errors": errors,
            "values": {"record": record, "child": child, "decision": decision},
        },
        status=422 if errors else 200,
    )
