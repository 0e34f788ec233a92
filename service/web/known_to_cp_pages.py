""""Is the child known to child protection?" (DESIGN §4 point 7) in the console: police, schools
and the juvenile commission ask with the child's ЕГН (posted, never in a URL) and see the answer
the API gives — yes and which department to call, or no. The department is told who asked, by the
same service call; too many questions in a short time are refused for a while (429)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from service.access.policy import require
from service.access.vocabulary import Action
from service.alerts import known_to_cp
from service.core.database import DbSession
from service.core.problems import Problem
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.sessions import SignedIn
from service.web.views import person_view

router = APIRouter(include_in_schema=False, tags=["console"])


async def _page(
    request: Request, session: DbSession, person: SignedIn, *, errors: FormErrors | None = None,
    answer: Any = None, values: dict[str, str] | None = None, status: int = 200,
) -> Response:
    return renderer(request).page(
        request,
        "known_to_cp.html",
        {"person": await person_view(session, person), "errors": errors or FormErrors(), "answer": answer,
         "values": values or {}},
        status=status,
    )


@router.get("/children/known-to-cp")
async def question_form(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    require(person.principal, Action.ask_known_to_cp)
    return await _page(request, session, person)


@router.post("/children/known-to-cp")
async def ask(
    request: Request,
    session: DbSession,
    person: FormPoster,
    pin: Annotated[str, Form(max_length=50)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    # one who may not ask is refused whatever they typed
    require(person.principal, Action.ask_known_to_cp)
    pin, reason = pin.strip(), reason.strip()
    errors = FormErrors()
    if not pin:
        errors.add("pin", N_("Enter the child's ЕГН or ЛНЧ"))
    if len(reason) > 500:
        errors.add("reason", N_("Write at most 500 characters"))
    if errors:
        return await _page(request, session, person, errors=errors, values={"reason": reason}, status=422)
    answer = await attempt(
        session,
        partial(
            known_to_cp.ask, session, actor=person.principal, pin=pin, reason=reason or None,
            pin_secret=request.app.state.pin_secret, purpose=None,
        ),
    )
    if not isinstance(answer, Problem):
        return await _page(request, session, person, answer=answer)
    if answer.status == 422:
        errors.add("pin", N_("This is not a valid ЕГН or ЛНЧ"))
    elif answer.status == 429:
        errors.general.append(
            N_("You have asked many questions in a short time. Wait a quarter of an hour and ask again.")
        )
    else:
        return await problem_page(request, answer)
    response = await _page(request, session, person, errors=errors, values={"reason": reason}, status=answer.status)
    if "Retry-After" in answer.headers:
        response.headers["Retry-After"] = answer.headers["Retry-After"]
    return response
