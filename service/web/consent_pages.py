"""A guardian's consent in the console: recorded on its own page (guardian, providers, purposes,
period, where the signed form is kept) and withdrawn from the child's page, both through the
consent service the API calls, so the same decisions, checks and audit events apply."""

from __future__ import annotations

import uuid
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import require
from service.access.vocabulary import Action
from service.children import service as children
from service.consent import service as consent
from service.consent.schemas import ConsentCreate, ConsentPurpose, ConsentWithdraw, GuardianRelationship
from service.core.clock import Today
from service.core.database import DbSession
from service.core.problems import Problem
from service.organisations import service as organisations
from service.web.child_pages import parse_id, render_child_page
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt, problem_errors
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.sessions import SignedIn
from service.web.views import person_view

router = APIRouter(include_in_schema=False, tags=["console"])

#: the form's fields, in the order of the page (the error summary follows it)
FIELDS = ("guardian_name", "guardian_relationship", "recipient_ids", "purposes", "valid_from", "valid_until",
          "evidence")
#: a plain-language message per field, shown instead of the validator's English
FIELD_MESSAGES = {
    "guardian_name": N_("Enter the guardian's name as they write it"),
    "guardian_relationship": N_("Choose who the guardian is to the child"),
    "recipient_ids": N_("Choose at least one service provider"),
    "purposes": N_("Choose at least one purpose"),
    "valid_from": N_("Enter the date the consent starts"),
    "valid_until": N_("Enter the date the consent ends, not before it starts"),
    "evidence": N_("Say where the signed consent form is kept"),
}
WITHDRAW_PREFIX = "withdraw-"


def _consent_errors(exc: ValidationError) -> FormErrors:
    errors = FormErrors()
    for err in exc.errors():
        # a rule of the whole form (no field named) is the only one there is: the dates' order
        name = str(err["loc"][0]) if err["loc"] else "valid_until"
        name = name if name in FIELD_MESSAGES else "valid_until"
        errors.add(name, FIELD_MESSAGES[name])
    errors.fields = {name: errors.fields[name] for name in FIELDS if name in errors.fields}
    return errors


async def _consent_form(
    request: Request,
    session: AsyncSession,
    person: SignedIn,
    today: date,
    child_id: uuid.UUID,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    child = await children.read(session, actor=person.principal, child_id=child_id, purpose=None, today=today)
    return renderer(request).page(
        request,
        "consent_new.html",
        {
            "person": await person_view(session, person),
            "child": child,
            "providers": await organisations.service_providers(session),
            "relationships": list(GuardianRelationship),
            "purposes": list(ConsentPurpose),
            "values": values or {"recipient_ids": [], "purposes": []},
            "errors": errors or FormErrors(),
        },
        status=status,
    )


@router.get("/children/{child_id}/consents/new")
async def new_consent(
    request: Request, child_id: str, session: DbSession, person: SignedInPerson, today: Today
) -> Response:
    require(person.principal, Action.manage_consents)  # the form only for those who record consents
    identifier = parse_id(child_id)
    return await _consent_form(request, session, person, today, identifier)


@router.post("/children/{child_id}/consents")
async def record_consent(
    request: Request, child_id: str, session: DbSession, person: FormPoster, today: Today
) -> Response:
    identifier = parse_id(child_id)
    form = await request.form()
    values: dict[str, Any] = {name: str(form.get(name) or "").strip()[:300] for name in FIELDS}
    values["recipient_ids"] = [str(v) for v in form.getlist("recipient_ids")][:20]
    values["purposes"] = [str(v) for v in form.getlist("purposes")][:3]
    try:
        body = ConsentCreate.model_validate({**values, "valid_from": values["valid_from"] or None,
                                             "valid_until": values["valid_until"] or None})
    except ValidationError as exc:
        return await _consent_form(
            request, session, person, today, identifier, values=values, errors=_consent_errors(exc), status=422
        )
    recorded = await attempt(
        session,
        partial(consent.record, session, actor=person.principal, child_id=identifier, data=body, purpose=None,
                today=today),
    )
    if isinstance(recorded, Problem):
        if recorded.status == 422:
            errors = problem_errors(recorded)
            errors.fields = {name.split(".")[0]: message for name, message in errors.fields.items()}
            return await _consent_form(
                request, session, person, today, identifier, values=values, errors=errors, status=422
            )
        return await problem_page(request, recorded)
    return RedirectResponse(f"/children/{identifier}?done=consent_recorded#consents", status_code=303)


@router.post("/consents/{consent_id}/withdraw")
async def withdraw_consent(
    request: Request,
    consent_id: str,
    session: DbSession,
    person: FormPoster,
    today: Today,
    child: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    identifier = parse_id(consent_id)
    child_id = parse_id(child)
    field = f"{WITHDRAW_PREFIX}{identifier}"
    try:
        body = ConsentWithdraw.model_validate({"reason": reason})
    except ValidationError:
        errors = FormErrors()
        errors.add(field, N_("Say why the consent is withdrawn (up to 300 characters)"))
        return await render_child_page(request, session, person, today, child_id, errors=errors, status=422)
    withdrawn = await attempt(
        session,
        partial(consent.withdraw, session, actor=person.principal, consent_id=identifier, data=body, purpose=None,
                today=today),
    )
    if isinstance(withdrawn, Problem):
        if withdrawn.status == 409:
            errors = FormErrors()
            errors.add(field, N_("This consent was already withdrawn."))
            return await render_child_page(request, session, person, today, child_id, errors=errors, status=409)
        return await problem_page(request, withdrawn)
    return RedirectResponse(f"/children/{withdrawn.child_id}?done=consent_withdrawn#consents", status_code=303)
