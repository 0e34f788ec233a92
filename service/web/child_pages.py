"""A teacher's pupil search by ЕГН (posted, so the number is never in a URL) and a child's page:
identity and the timeline across agencies, as the children and history services give them."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from service.alerts import history
from service.children import service as children
from service.core.clock import Today
from service.core.database import DbSession
from service.core.problems import NotFound, Problem
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.forms import FormErrors, attempt
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.views import organisation_names, person_view

router = APIRouter(include_in_schema=False, tags=["console"])


def parse_id(value: str) -> uuid.UUID:
    """An id from a page address; anything else is the same "not found" page as an unknown id."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("no such page") from None


@router.get("/children/search")
async def search_form(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    return renderer(request).page(
        request, "child_search.html", {"person": await person_view(session, person), "errors": FormErrors()}
    )


@router.post("/children/search")
async def search(
    request: Request,
    session: DbSession,
    person: FormPoster,
    today: Today,
    pin: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    errors = FormErrors()
    status = 422
    pin = pin.strip()
    if not pin:
        errors.add("pin", N_("Enter the pupil's ЕГН or ЛНЧ"))
    else:
        found = await attempt(
            session,
            partial(
                children.lookup, session, actor=person.principal, pin=pin,
                pin_secret=request.app.state.pin_secret, purpose=None, today=today,
            ),
        )
        if not isinstance(found, Problem):
            return RedirectResponse(f"/children/{found.id}", status_code=303)
        if found.status == 422:
            errors.add("pin", N_("This is not a valid ЕГН or ЛНЧ"))
        elif found.status == 403:
            errors.add("pin", N_("You may not search for pupils"))
            status = 403
        else:
            errors.add("pin", N_("None of your pupils has this ЕГН or ЛНЧ"))
            status = 404
    return renderer(request).page(
        request,
        "child_search.html",
        {"person": await person_view(session, person), "errors": errors},
        status=status,
    )


@router.get("/children/{child_id}")
async def child_page(
    request: Request, child_id: str, session: DbSession, person: SignedInPerson, today: Today
) -> Response:
    identifier = parse_id(child_id)
    child = await children.read(session, actor=person.principal, child_id=identifier, purpose=None, today=today)
    timeline = await attempt(
        session,
        partial(history.history, session, actor=person.principal, child_id=identifier, purpose=None, today=today),
    )
    entries = [] if isinstance(timeline, Problem) else timeline.entries
    ids = [e.organisation_id for e in entries]
    if child.current_enrolment:
        ids.append(child.current_enrolment.school_id)
    return renderer(request).page(
        request,
        "child.html",
        {
            "person": await person_view(session, person),
            "child": child,
            "entries": sorted(entries, key=lambda e: e.at, reverse=True),
            "timeline_refused": isinstance(timeline, Problem),
            "names": await organisation_names(session, ids),
        },
    )
