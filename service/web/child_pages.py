"""A pupil search by ЕГН (posted, so the number is never in a URL) and a child's page: identity,
the guardian's consents and the timeline across agencies, as the children, consent and history
services give them. A police officer searches for law enforcement, the purpose stated on the form
and sent to the lookup; the child found is shown on the search page itself, identity only, as the
API's lookup answers it (police read no child page of a child merely of their area)."""

from __future__ import annotations

import uuid
from datetime import date
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.principal import Principal
from service.access.vocabulary import Action, OrganisationKind, Purpose
from service.alerts import history
from service.children import service as children
from service.consent import service as consent
from service.consent.schemas import ConsentRead
from service.core.clock import Today
from service.core.database import DbSession
from service.core.problems import NotFound, Problem
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.sessions import SignedIn
from service.web.views import may, may_break_glass, organisation_names, person_view

router = APIRouter(include_in_schema=False, tags=["console"])


def parse_id(value: str) -> uuid.UUID:
    """An id from a page address; anything else is the same "not found" page as an unknown id."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("no such page") from None


#: the purpose a kind of organisation looks children up for, stated on the form and sent to the lookup
#: (DESIGN §4 point 2: police only for law enforcement); others look up with their role's default
LOOKUP_PURPOSES = {OrganisationKind.police: Purpose.law_enforcement}


def lookup_purpose(principal: Principal) -> Purpose | None:
    return LOOKUP_PURPOSES.get(principal.organisation_kind) if principal.organisation_kind else None


@router.get("/children/search")
async def search_form(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    return renderer(request).page(
        request,
        "child_search.html",
        {"person": await person_view(session, person), "errors": FormErrors(),
         "purpose": lookup_purpose(person.principal), "found": None},
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
    purpose = lookup_purpose(person.principal)
    context: dict[str, object] = {"purpose": purpose, "found": None}
    if not pin:
        errors.add("pin", N_("Enter the pupil's ЕГН or ЛНЧ"))
    else:
        found = await attempt(
            session,
            partial(
                children.lookup, session, actor=person.principal, pin=pin,
                pin_secret=request.app.state.pin_secret, purpose=purpose, today=today,
            ),
        )
        if not isinstance(found, Problem):
            if purpose is not Purpose.law_enforcement:
                return RedirectResponse(f"/children/{found.id}", status_code=303)
            # identity only, on this page: the known-to-cp question is asked with the same number
            context |= {"found": found, "pin": pin, "may_ask": may(person.principal, Action.ask_known_to_cp)}
            status = 200
        elif found.status == 422:
            errors.add("pin", N_("This is not a valid ЕГН or ЛНЧ"))
        elif found.status == 403:
            errors.add("pin", N_("You may not search for pupils"))
            status = 403
        else:
            errors.add("pin", N_("No child of your area has this ЕГН or ЛНЧ") if purpose is Purpose.law_enforcement
                       else N_("None of your pupils has this ЕГН or ЛНЧ"))
            status = 404
    return renderer(request).page(
        request,
        "child_search.html",
        {"person": await person_view(session, person), "errors": errors, **context},
        status=status,
    )


async def render_child_page(
    request: Request,
    session: AsyncSession,
    person: SignedIn,
    today: date,
    child_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    """The child's page: identity, the guardian's consents (for those who manage them) and the
    timeline, each read through the service the API uses for it."""
    principal = person.principal
    child = await attempt(
        session, partial(children.read, session, actor=principal, child_id=child_id, purpose=None, today=today)
    )
    if isinstance(child, Problem):
        if child.status == 404 and may_break_glass(principal):
            # the same "not found" as for any id, with the way an entitled officer still has
            return renderer(request).page(
                request, "problem.html", {"status": 404, "person": None, "emergency": child_id}, status=404
            )
        return await problem_page(request, child)
    timeline = await attempt(
        session,
        partial(history.history, session, actor=principal, child_id=child_id, purpose=None, today=today),
    )
    entries = [] if isinstance(timeline, Problem) else timeline.entries
    consents: list[ConsentRead] | None = None
    if may(principal, Action.manage_consents):
        listed = await attempt(
            session,
            partial(consent.list_for_child, session, actor=principal, child_id=child_id, purpose=None, today=today,
                    limit=200, after=None),
        )
        consents = None if isinstance(listed, Problem) else listed[0]
    ids = [e.organisation_id for e in entries] + [r for c in consents or [] for r in c.recipient_ids]
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
            "consents": consents,
            "may_break_glass": may_break_glass(principal),
            "names": await organisation_names(session, ids),
            "errors": errors or FormErrors(),
            "done": request.query_params.get("done"),
        },
        status=status,
    )


@router.get("/children/{child_id}")
async def child_page(
    request: Request, child_id: str, session: DbSession, person: SignedInPerson, today: Today
) -> Response:
    return await render_child_page(request, session, person, today, parse_id(child_id))
