"""A service provider's referrals: the alerts child protection referred to it under a guardian's
consent, pending ones first, each accepted or declined with a reason through the same lifecycle
step as the API's `referral-answer` (the alert's version sent as its `If-Match`)."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, require
from service.access.vocabulary import Action, OrganisationKind
from service.alerts import lifecycle
from service.alerts import service as alerts
from service.alerts.schemas import AlertRead, ReferralAnswer, ReferralStatus
from service.core.clock import Today
from service.core.database import DbSession
from service.core.problems import Conflict, PreconditionFailed, Problem
from service.web.child_pages import parse_id
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.sessions import SignedIn
from service.web.views import children_known, organisation_names, person_view

router = APIRouter(include_in_schema=False, tags=["console"])
Short = Annotated[str, Form(max_length=200)]
REASON_PREFIX = "referral-reason-"


def referral_status(alert: AlertRead, person: SignedIn) -> ReferralStatus | None:
    """The state of the referral of `alert` to the person's organisation, if it was referred."""
    for recipient in alert.recipients:
        if recipient.organisation_id == person.principal.organisation_id:
            return recipient.referral_status
    return None


async def _referrals_page(
    request: Request,
    session: AsyncSession,
    person: SignedIn,
    today: date,
    *,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    decision = require(person.principal, Action.respond_to_alert)
    if person.principal.organisation_kind is not OrganisationKind.service_provider:
        # schools, police and agencies respond to alerts too, but only providers are referred cases
        raise AccessDenied(
            person.principal,
            Decision(allowed=False, action=decision.action, reason="referrals are for service providers",
                     purpose=decision.purpose),
        )
    items, _ = await alerts.list_alerts(
        session,
        actor=person.principal,
        purpose=None,
        filters={"status": None, "alert_type": None, "severity": None, "child_id": None, "since": None},
        before=None,
        limit=200,
        today=today,
    )
    referred = [a for a in items if referral_status(a, person) is not None]
    pending = [a for a in referred if referral_status(a, person) is ReferralStatus.pending and a.status == "open"]
    answered = [a for a in referred if a not in pending]
    known = await children_known(session, person.principal, [a.child_id for a in referred], today)
    names = await organisation_names(session, [a.source_organisation_id for a in referred])
    return renderer(request).page(
        request,
        "referrals.html",
        {
            "person": await person_view(session, person),
            "pending": pending,
            "answered": answered,
            "statuses": {a.id: referral_status(a, person) for a in referred},
            "children": known,
            "names": names,
            "errors": errors or FormErrors(),
            "done": request.query_params.get("done"),
        },
        status=status,
    )


@router.get("/referrals")
async def referrals(request: Request, session: DbSession, person: SignedInPerson, today: Today) -> Response:
    return await _referrals_page(request, session, person, today)


@router.post("/alerts/{alert_id}/referral-answer")
async def answer_referral(
    request: Request,
    alert_id: str,
    session: DbSession,
    person: FormPoster,
    today: Today,
    version: Short = "",
    answer: Short = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    identifier = parse_id(alert_id)
    field = f"{REASON_PREFIX}{identifier}"
    try:
        body = ReferralAnswer.model_validate({"accepted": answer == "accept", "reason": reason.strip() or None})
    except ValidationError:
        errors = FormErrors()
        errors.add(field, N_("Say why you decline the referral"))
        return await _referrals_page(request, session, person, today, errors=errors, status=422)
    if_match = f'"{version}"' if version.isdigit() else '"0"'
    answered = await attempt(
        session,
        partial(lifecycle.answer_referral, session, actor=person.principal, alert_id=identifier, if_match=if_match,
                purpose=None, data=body, today=today),
    )
    if not isinstance(answered, Problem):
        return RedirectResponse(f"/referrals?done={'accepted' if body.accepted else 'declined'}", status_code=303)
    if isinstance(answered, PreconditionFailed | Conflict):
        errors = FormErrors(general=[N_("The alert changed while you were answering, or the referral was already "
                                        "answered. Look at it again below.")])
        return await _referrals_page(request, session, person, today, errors=errors, status=409)
    if answered.status == 422:
        errors = FormErrors()
        errors.add(field, answered.detail or answered.title)
        return await _referrals_page(request, session, person, today, errors=errors, status=422)
    return await problem_page(request, answered)
