"""A person's own pages: which notices they get by e-mail (the service `/me/notifications`
calls) and "Моите случаи", the open alerts assigned to them or their teams (the service
`/my/cases` calls)."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from service.alerts import service as alerts
from service.core.clock import Today
from service.core.database import DbSession
from service.core.problems import Problem
from service.notices import service as notices
from service.notices.events import NoticeEvent
from service.notices.schemas import NoticePreferences, NoticePreferencesRead
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt, problem_errors, validation_errors
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.views import children_known, organisation_names, person_view

router = APIRouter(include_in_schema=False, tags=["console"])

#: each event in words a teacher understands, in the order the form shows them
EVENT_TEXTS = {
    NoticeEvent.alert_routed: N_("A new alert for my organisation"),
    NoticeEvent.alert_assigned: N_("An alert assigned to me"),
    NoticeEvent.alert_overdue: N_("My organisation missed the deadline to acknowledge an alert"),
    NoticeEvent.alert_closed: N_("An alert I raised was closed"),
    NoticeEvent.break_glass: N_("Emergency access to a child of my department"),
    NoticeEvent.known_to_cp: N_("A question whether a child of my department is known to child protection"),
}
#: the words of a field's validation error
FIELD_MESSAGES = {
    "email": N_("Give an e-mail address like name@example.bg, or leave it empty"),
    "digest_hour": N_("Choose an hour from 0 to 23"),
    "language": N_("Choose Bulgarian or English"),
    "events": N_("Choose among the listed notices"),
}


async def _settings_page(
    request: Request, session: DbSession, person: Any, shown: NoticePreferencesRead | dict[str, Any],
    errors: FormErrors, *, saved: bool = False,
) -> Response:
    values = shown.model_dump(mode="json") if isinstance(shown, NoticePreferencesRead) else shown
    return renderer(request).page(
        request,
        "notifications.html",
        {"person": await person_view(session, person), "values": values, "events": EVENT_TEXTS,
         "errors": errors, "saved": saved},
        status=422 if errors else 200,
    )


@router.get("/settings/notifications")
async def notification_settings(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    found = await attempt(session, partial(notices.preferences, session, actor=person.principal))
    if isinstance(found, Problem):
        return await problem_page(request, found)
    return await _settings_page(request, session, person, found, FormErrors())


@router.post("/settings/notifications")
async def save_notification_settings(request: Request, session: DbSession, person: FormPoster) -> Response:
    form = await request.form()
    email = str(form.get("email") or "").strip()
    hour = str(form.get("digest_hour") or "").strip()
    typed: dict[str, Any] = {
        "email": email or None,
        "language": str(form.get("language") or "bg"),
        "events": [str(e) for e in form.getlist("events")],
        "digest_hour": hour or None,
    }
    try:
        body = NoticePreferences.model_validate(typed)
    except ValidationError as exc:
        return await _settings_page(
            request, session, person, {**typed, "email": email, "digest_hour": hour},
            validation_errors(exc, messages=FIELD_MESSAGES),
        )
    saved = await attempt(session, partial(notices.set_preferences, session, actor=person.principal, data=body))
    if isinstance(saved, Problem):
        if saved.status != 422:
            return await problem_page(request, saved)
        return await _settings_page(request, session, person, typed, problem_errors(saved))
    return await _settings_page(request, session, person, saved, FormErrors(), saved=True)


@router.get("/my/cases")
async def my_cases(request: Request, session: DbSession, person: SignedInPerson, today: Today) -> Response:
    found = await attempt(
        session, partial(alerts.my_cases, session, actor=person.principal, purpose=None, limit=200, today=today)
    )
    if isinstance(found, Problem):
        return await problem_page(request, found)
    cases, _ = found
    known = await children_known(session, person.principal, [a.child_id for a in cases], today)
    names = await organisation_names(session, [a.source_organisation_id for a in cases])
    return renderer(request).page(
        request,
        "my_cases.html",
        {"person": await person_view(session, person), "alerts": cases, "children": known, "names": names},
    )
