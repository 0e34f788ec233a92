"""Break-glass in the console: a child protection or police officer opens a child's whole history
in an emergency, giving a reason. The page calls the history service with purpose `emergency`
and the reason exactly as the API's `X-Break-Glass-Reason` carries it (percent-encoded UTF-8), so
the access is decided, marked, audited, queued for an auditor's review and told to the child's
child protection department as the API does it. The answer is shown at once, never redirected
to a page that would open the history again."""

from __future__ import annotations

from functools import partial
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from service.access.policy import AccessDenied
from service.access.relationships import MIN_BREAK_GLASS_REASON, decide_break_glass
from service.access.vocabulary import Purpose
from service.alerts import history
from service.alerts.schemas import ChildHistory
from service.core.clock import Today
from service.core.database import DbSession
from service.core.problems import Problem
from service.web.child_pages import parse_id
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.views import organisation_names, person_view

router = APIRouter(include_in_schema=False, tags=["console"])


@router.get("/children/{child_id}/emergency")
async def emergency_form(request: Request, child_id: str, session: DbSession, person: SignedInPerson) -> Response:
    identifier = parse_id(child_id)
    decision = decide_break_glass(person.principal, "")
    if not decision.allowed:
        raise AccessDenied(person.principal, decision, resource_type="child", resource_id=str(identifier))
    return renderer(request).page(
        request,
        "emergency.html",
        {"person": await person_view(session, person), "child_id": identifier, "errors": FormErrors(),
         "reason": "", "history": None, "names": {}, "minimum": MIN_BREAK_GLASS_REASON},
    )


@router.post("/children/{child_id}/emergency")
async def emergency_access(
    request: Request,
    child_id: str,
    session: DbSession,
    person: FormPoster,
    today: Today,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    identifier = parse_id(child_id)
    reason = reason.strip()
    opened = await attempt(
        session,
        partial(history.history, session, actor=person.principal, child_id=identifier, purpose=Purpose.emergency,
                today=today, break_glass_reason=quote(reason, safe="")),
    )
    errors = FormErrors()
    if isinstance(opened, Problem):
        if opened.status != 422:
            return await problem_page(request, opened)
        errors.add("reason", N_("Give the reason in at least 20 characters"))
    found: ChildHistory | None = None if isinstance(opened, Problem) else opened
    entries = sorted(found.entries, key=lambda e: e.at, reverse=True) if found else []
    return renderer(request).page(
        request,
        "emergency.html",
        {
            "person": await person_view(session, person),
            "child_id": identifier,
            "errors": errors,
            "reason": reason,
            "history": found,
            "entries": entries,
            "names": await organisation_names(session, [e.organisation_id for e in entries]),
            "minimum": MIN_BREAK_GLASS_REASON,
        },
        status=422 if errors else 200,
    )
