"""The auditor's pages: the event search (who did what to which record, when, why and with what
decision; an alert's id gives its whole trail), the chain's verification, the review of
emergency accesses, and a child's access report with its printable guardian version. Each calls
the auditing service the API calls. Organisations by name; no child names anywhere."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import require
from service.access.vocabulary import Action
from service.audit.repository import EventFilter
from service.auditor import service as auditing
from service.auditor.schemas import AuditEventRead, BreakGlassReviewBody, ReviewOutcome
from service.core.clock import utcnow
from service.core.database import DbSession
from service.core.problems import Problem
from service.web.child_pages import parse_id
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.sessions import SignedIn
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


# --- chain verification -----------------------------------------------------------------------


@router.get("/audit/verify")
async def verify_page(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    """Recomputes the whole chain (as `GET /api/v1/audit/verify`), audited as the auditor's read."""
    result = await auditing.verify(session, actor=person.principal, purpose=None)
    return renderer(request).page(
        request,
        "audit_verify.html",
        {"person": await person_view(session, person), "result": result},
    )


# --- break-glass review -----------------------------------------------------------------------


async def _break_glass_page(
    request: Request,
    session: AsyncSession,
    person: SignedIn,
    *,
    show_all: bool,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    items, _ = await auditing.break_glass_queue(
        session, actor=person.principal, purpose=None, pending_only=not show_all, after_seq=0, limit=200
    )
    return renderer(request).page(
        request,
        "audit_break_glass.html",
        {
            "person": await person_view(session, person),
            "items": items,
            "names": await organisation_names(session, [i.actor_organisation_id for i in items]),
            "outcomes": list(ReviewOutcome),
            "show_all": show_all,
            "errors": errors or FormErrors(),
            "values": values or {},
            "done": request.query_params.get("done"),
        },
        status=status,
    )


@router.get("/audit/break-glass")
async def break_glass_queue(request: Request, session: DbSession, person: SignedInPerson, status: str = "") -> Response:
    return await _break_glass_page(request, session, person, show_all=status == "all")


@router.post("/audit/break-glass/{review_id}/review")
async def review_break_glass(
    request: Request,
    review_id: str,
    session: DbSession,
    person: FormPoster,
    outcome: Annotated[str, Form(max_length=50)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    identifier = parse_id(review_id)
    values = {"review": str(identifier), "outcome": outcome, "comment": comment}
    try:
        body = BreakGlassReviewBody.model_validate({"outcome": outcome, "comment": comment})
    except ValidationError as exc:
        errors = FormErrors()
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "comment"
            if name == "outcome":
                errors.add(f"outcome-{identifier}", N_("Choose whether the access was justified"))
            else:
                errors.add(f"comment-{identifier}", N_("Write a comment of up to 2000 characters"))
        return await _break_glass_page(
            request, session, person, show_all=False, errors=errors, values=values, status=422
        )
    reviewed = await attempt(
        session,
        partial(auditing.review_break_glass, session, actor=person.principal, purpose=None, review_id=identifier,
                data=body),
    )
    if isinstance(reviewed, Problem):
        if reviewed.status == 409:
            errors = FormErrors(general=[N_("This emergency access was already reviewed.")])
            return await _break_glass_page(request, session, person, show_all=True, errors=errors, status=409)
        return await problem_page(request, reviewed)
    return RedirectResponse("/audit/break-glass?done=reviewed", status_code=303)


# --- a child's access report ------------------------------------------------------------------


@router.get("/audit/children/{child_id}/access-report")
async def access_report(
    request: Request,
    child_id: str,
    session: DbSession,
    person: SignedInPerson,
    for_: Annotated[str, Query(alias="for", max_length=20)] = "",
) -> Response:
    """Who accessed the child's data. `?for=guardian` is the printable subject-access version:
    organisations by name, roles, dates and purposes, no staff identities."""
    identifier = parse_id(child_id)
    guardian = for_ == "guardian"
    report = await auditing.access_report(
        session, actor=person.principal, purpose=None, child_id=identifier, for_guardian=guardian
    )
    return renderer(request).page(
        request,
        "audit_access_report.html",
        {"person": await person_view(session, person), "report": report, "guardian": guardian,
         "today": utcnow()},
    )
