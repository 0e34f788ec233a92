"""Joint enrolment teams in the console: the teams of the municipalities a coordinator's or
education officer's organisation serves, creating one and adding or removing its members, through
the same team service, access decisions and audit as the teams API. Members are chosen by
username; people and organisations are shown by name."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from service.core.database import DbSession
from service.core.problems import Conflict, Problem
from service.teams import service as teams
from service.teams.schemas import TeamCreate
from service.teams.service import LEAD_KINDS
from service.web.admin_pages import all_organisations
from service.web.child_pages import parse_id
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt, validation_errors
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.row_errors import reword, wordings
from service.web.views import person_view

router = APIRouter(include_in_schema=False, tags=["console"])

#: a field's words for people when the request model refuses it
FIELD_MESSAGES = {
    "code": N_("Use 3 to 60 small Latin letters, digits and hyphens, for example team-shipka"),
    "name": N_("Enter the team's name"),
    "municipality_code": N_("Choose the municipality"),
    "settlement_codes": N_("Enter EKATTE settlement codes of five digits, separated by commas"),
    "lead_organisation_id": N_("Choose the organisation that leads the team"),
}
#: the team service's refusals, told again for people
TEAM_WORDINGS = wordings(
    (r"^a team with this code already exists$", N_("A team with this code exists")),
    (r"^a team is led by a municipality or an education authority$",
     N_("A team is led by a municipality or a regional education office")),
    (r"^the lead organisation does not serve the team's municipality$",
     N_("The lead organisation does not serve the team's municipality")),
    (r"^no active user of an organisation has this id$",
     N_("No active user of an organisation has this username")),
    (r"^no one with this username can join a team$", N_("No one with this username can join a team")),
    (r"^auditors and administrators cannot be team members$",
     N_("An auditor or an administrator cannot be a team member")),
    (r"^the user is already a member of this team$", N_("This person is already on the team")),
    (r"^the user is not a member of this team$", N_("This person is no longer on the team")),
)


def _told(request: Request, problem: Problem) -> list[tuple[str, str]]:
    """A refusal's errors, each as (the form field it points at or "", the words for people)."""
    gettext = partial(renderer(request).gettext, request)
    told = [
        (str(entry.get("pointer") or "").removeprefix("#/").strip("/"),
         reword(str(entry.get("detail") or ""), TEAM_WORDINGS, gettext))
        for entry in problem.errors or []
    ]
    return told or [("", reword(problem.detail or problem.title, TEAM_WORDINGS, gettext))]


def _errors(request: Request, problem: Problem, *, field: str | None = None) -> FormErrors:
    """A refusal as errors of the form's fields (`#/lead_organisation_id`); with `field`, all of
    them that field's (a member form's one input); with `field=""`, all of them the page's."""
    errors = FormErrors()
    for pointer, message in _told(request, problem):
        name = pointer if field is None else field
        if name:
            errors.add(name, message)
        else:
            errors.general.append(message)
    return errors


def _codes(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").replace(" ", ",").split(",") if part.strip()]


async def _teams_page(
    request: Request, session: Any, person: Any, *, errors: FormErrors | None = None,
    values: dict[str, str] | None = None, status: int = 200,
) -> Response:
    found = await attempt(session, partial(teams.list_teams, session, actor=person.principal, purpose=None))
    if isinstance(found, Problem):
        return await problem_page(request, found)
    organisations = await all_organisations(session)
    names = {o.id: o.name for o in organisations}
    principal = person.principal
    leads = [o for o in organisations if o.kind.value in LEAD_KINDS
             and set(o.municipality_codes) & principal.municipality_codes]
    chosen = dict(values or {})
    chosen.setdefault("lead_organisation_id", str(principal.organisation_id or ""))
    return renderer(request).page(
        request,
        "admin_teams.html",
        {
            "person": await person_view(session, person),
            "teams": found,
            "names": names,
            "municipalities": sorted(principal.municipality_codes),
            "leads": leads,
            "values": chosen,
            "errors": errors or FormErrors(),
            "done": request.query_params.get("done"),
        },
        status=status,
    )


@router.get("/admin/teams")
async def team_list(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    return await _teams_page(request, session, person)


@router.post("/admin/teams/new")
async def create_team(request: Request, session: DbSession, person: FormPoster) -> Response:
    form = await request.form()
    keys = ("code", "name", "municipality_code", "settlement_codes", "lead_organisation_id")
    values = {k: str(form.get(k) or "").strip() for k in keys}
    try:
        body = TeamCreate.model_validate({
            **values, "settlement_codes": _codes(values["settlement_codes"]),
            "lead_organisation_id": values["lead_organisation_id"] or None,
        })
    except ValidationError as exc:
        return await _teams_page(request, session, person, values=values, status=422,
                                 errors=validation_errors(exc, messages=FIELD_MESSAGES))
    created = await attempt(
        session, partial(teams.create_team, session, actor=person.principal, purpose=None, data=body)
    )
    if isinstance(created, Problem):
        if created.status != 422:
            return await problem_page(request, created)
        return await _teams_page(request, session, person, values=values, status=422,
                                 errors=_errors(request, created))
    return RedirectResponse("/admin/teams?done=created", status_code=303)


async def _add(session: Any, principal: Any, team_id: uuid.UUID, username: str) -> Any:
    member = await teams.member_named(session, actor=principal, purpose=None, team_id=team_id, username=username)
    return await teams.add_member(session, actor=principal, purpose=None, team_id=team_id, data=member)


@router.post("/admin/teams/{team_id}/members")
async def add_member(request: Request, team_id: str, session: DbSession, person: FormPoster) -> Response:
    identifier = parse_id(team_id)
    form = await request.form()
    username = str(form.get("username") or "").strip()
    field = f"username-{identifier}"
    if not username:
        errors = FormErrors()
        errors.add(field, N_("Enter the username of the person to add"))
        return await _teams_page(request, session, person, errors=errors, values={field: username}, status=422)
    added = await attempt(session, partial(_add, session, person.principal, identifier, username))
    if isinstance(added, Problem):
        if added.status != 422 and not isinstance(added, Conflict):
            return await problem_page(request, added)
        return await _teams_page(request, session, person, values={field: username}, status=added.status,
                                 errors=_errors(request, added, field=field))
    return RedirectResponse("/admin/teams?done=member_added", status_code=303)


@router.post("/admin/teams/{team_id}/members/{user_id}/remove")
async def remove_member(
    request: Request, team_id: str, user_id: str, session: DbSession, person: FormPoster
) -> Response:
    removed = await attempt(
        session,
        partial(teams.remove_member, session, actor=person.principal, purpose=None, team_id=parse_id(team_id),
                user_id=parse_id(user_id)),
    )
    if isinstance(removed, Problem):
        if removed.status != 422:
            return await problem_page(request, removed)
        return await _teams_page(request, session, person, status=422, errors=_errors(request, removed, field=""))
    return RedirectResponse("/admin/teams?done=member_removed", status_code=303)
