"""The administrator's pages: organisations, users and system accounts (API clients), through
the same service functions and the same function-level checks as the administration API, so
the same refusals apply (a role valid only in an organisation of its kind; `auditor` and `admin`
held alone). A client's secret is shown once, on the page that answers its creation or rotation.
The administrator sees no child data: nothing here reads any."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from service.access.policy import require
from service.access.vocabulary import Action, OrganisationKind, Role
from service.auth.dependencies import AppPasswords
from service.core.database import DbSession
from service.core.problems import Problem
from service.organisations import service as organisations
from service.organisations.schemas import (
    ClientCreate,
    ClientUpdate,
    OrganisationCreate,
    OrganisationRead,
    OrganisationUpdate,
    UserCreate,
    UserUpdate,
)
from service.web.child_pages import parse_id
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt, validation_errors
from service.web.labels import LABELS, N_
from service.web.rendering import renderer
from service.web.row_errors import reword, wordings
from service.web.views import person_view

router = APIRouter(include_in_schema=False, tags=["console"])
PAGE = 200

#: a field's words for people when the request model refuses it
FIELD_MESSAGES = {
    "code": N_("Use 3 to 64 small Latin letters, digits and hyphens, for example school-koprinka"),
    "kind": N_("Choose the kind of organisation"),
    "name": N_("Enter the name"),
    "municipality_codes": N_("Enter municipality codes such as LOV18, separated by commas"),
    "username": N_("Use 3 to 64 small Latin letters, digits, dots, hyphens or underscores"),
    "password": N_("The password must have at least 12 characters"),
    "organisation_id": N_("Choose the organisation"),
    "roles": N_("Choose at least one role"),
}
#: the service's refusals, told again for people ({0}, {1}: the role and the kind, translated)
ADMIN_WORDINGS = wordings(
    (r"^auditor and admin are held alone, without any other role$",
     N_("An auditor or an administrator holds that role alone: remove the other roles")),
    (r"^admin is platform-wide and belongs to no organisation$",
     N_("An administrator belongs to no organisation")),
    (r"^role (\w+) is not valid in an organisation of kind (\w+)$",
     N_("The role “{0}” cannot be held in an organisation of the kind “{1}”")),
    (r"^role (\w+) is not valid in no organisation$", N_("The role “{0}” needs an organisation")),
    (r"^username is taken$", N_("This username is taken")),
    (r"^an organisation with code .* exists$", N_("An organisation with this code exists")),
    (r"^no such organisation$", N_("Choose the organisation")),
)


def _names() -> dict[str, str]:
    return {**LABELS["role"], **LABELS["organisation_kind"]}


def _refusal_errors(request: Request, problem: Problem) -> FormErrors:
    """A 422 from the service as errors against the form's fields (`#/roles/1` → `roles`)."""
    gettext = partial(renderer(request).gettext, request)
    errors = FormErrors()
    for entry in problem.errors or []:
        pointer = str(entry.get("pointer") or "").removeprefix("#/").strip("/")
        message = reword(str(entry.get("detail") or ""), ADMIN_WORDINGS, gettext, _names())
        if pointer:
            errors.add(pointer.split("/")[0], message)
        else:
            errors.general.append(message)
    if not errors:
        errors.general.append(problem.detail or problem.title)
    return errors


async def all_organisations(session: Any) -> list[OrganisationRead]:
    found: list[OrganisationRead] = []
    after: str | None = None
    while True:
        page, after = await organisations.list_organisations(session, after_code=after, limit=PAGE)
        found.extend(page)
        if after is None:
            return found


def _codes(text: str) -> list[str]:
    return [part.strip().upper() for part in text.replace(";", ",").replace(" ", ",").split(",") if part.strip()]


async def _page(
    request: Request, session: Any, person: Any, template: str, status: int = 200, **context: Any
) -> Response:
    context.setdefault("errors", FormErrors())
    context.setdefault("values", {})
    return renderer(request).page(
        request, template, {"person": await person_view(session, person), **context}, status=status
    )


@router.get("/admin")
async def admin_start(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    require(person.principal, Action.manage_organisations)
    return await _page(request, session, person, "admin.html")


# --- organisations ----------------------------------------------------------------------------


@router.get("/admin/organisations")
async def organisation_list(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    require(person.principal, Action.manage_organisations)
    return await _page(
        request, session, person, "admin_organisations.html",
        organisations=await all_organisations(session), done=request.query_params.get("done"),
    )


@router.get("/admin/organisations/new")
async def organisation_form(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    require(person.principal, Action.manage_organisations)
    return await _page(request, session, person, "admin_organisation.html", organisation=None,
                       kinds=list(OrganisationKind))


@router.post("/admin/organisations/new")
async def create_organisation(request: Request, session: DbSession, person: FormPoster) -> Response:
    require(person.principal, Action.manage_organisations)
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("code", "kind", "name", "municipality_codes")}
    try:
        body = OrganisationCreate.model_validate({**values, "municipality_codes": _codes(values["municipality_codes"])})
    except ValidationError as exc:
        return await _page(request, session, person, "admin_organisation.html", 422, organisation=None,
                           kinds=list(OrganisationKind), values=values,
                           errors=validation_errors(exc, messages=FIELD_MESSAGES))
    created = await attempt(
        session, partial(organisations.create_organisation, session, actor=person.principal, data=body)
    )
    if isinstance(created, Problem):
        if created.status != 422:
            return await problem_page(request, created)
        return await _page(request, session, person, "admin_organisation.html", 422, organisation=None,
                           kinds=list(OrganisationKind), values=values, errors=_refusal_errors(request, created))
    return RedirectResponse("/admin/organisations?done=created", status_code=303)


@router.get("/admin/organisations/{organisation_id}")
async def organisation_edit(
    request: Request, organisation_id: str, session: DbSession, person: SignedInPerson
) -> Response:
    require(person.principal, Action.manage_organisations)
    organisation = await organisations.read_organisation(session, organisation_id=parse_id(organisation_id))
    values = {"name": organisation.name, "municipality_codes": ", ".join(organisation.municipality_codes)}
    return await _page(request, session, person, "admin_organisation.html", organisation=organisation,
                       kinds=list(OrganisationKind), values=values)


@router.post("/admin/organisations/{organisation_id}")
async def update_organisation(
    request: Request, organisation_id: str, session: DbSession, person: FormPoster
) -> Response:
    require(person.principal, Action.manage_organisations)
    identifier = parse_id(organisation_id)
    organisation = await organisations.read_organisation(session, organisation_id=identifier)
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("name", "municipality_codes")}
    try:
        body = OrganisationUpdate.model_validate(
            {"name": values["name"], "municipality_codes": _codes(values["municipality_codes"])}
        )
    except ValidationError as exc:
        return await _page(request, session, person, "admin_organisation.html", 422, organisation=organisation,
                           kinds=list(OrganisationKind), values=values,
                           errors=validation_errors(exc, messages=FIELD_MESSAGES))
    updated = await attempt(
        session,
        partial(organisations.update_organisation, session, actor=person.principal, organisation_id=identifier,
                data=body),
    )
    if isinstance(updated, Problem):
        if updated.status != 422:
            return await problem_page(request, updated)
        return await _page(request, session, person, "admin_organisation.html", 422, organisation=organisation,
                           kinds=list(OrganisationKind), values=values, errors=_refusal_errors(request, updated))
    return RedirectResponse("/admin/organisations?done=updated", status_code=303)


# --- users ------------------------------------------------------------------------------------


async def _users_page(request: Request, session: Any, person: Any, **context: Any) -> Response:
    users, after = await organisations.list_users(session, after_username=None, limit=PAGE)
    while after is not None:
        more, after = await organisations.list_users(session, after_username=after, limit=PAGE)
        users.extend(more)
    everything = await all_organisations(session)
    return await _page(
        request, session, person, "admin_users.html",
        users=users, organisations=everything, names={o.id: o.name for o in everything}, roles=list(Role),
        done=request.query_params.get("done"), **context,
    )


@router.get("/admin/users")
async def user_list(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    require(person.principal, Action.manage_users)
    return await _users_page(request, session, person)


@router.post("/admin/users/new")
async def create_user(request: Request, session: DbSession, person: FormPoster, passwords: AppPasswords) -> Response:
    require(person.principal, Action.manage_users)
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in ("username", "organisation_id")}
    values["roles"] = [str(r) for r in form.getlist("roles")]
    password = str(form.get("password") or "")
    try:
        body = UserCreate.model_validate(
            {**values, "organisation_id": values["organisation_id"] or None, "password": password}
        )
    except ValidationError as exc:
        return await _users_page(request, session, person, values=values,
                                 errors=validation_errors(exc, messages=FIELD_MESSAGES), status=422)
    created = await attempt(
        session, partial(organisations.create_user, session, actor=person.principal, data=body, passwords=passwords)
    )
    if isinstance(created, Problem):
        if created.status != 422:
            return await problem_page(request, created)
        return await _users_page(request, session, person, values=values, errors=_refusal_errors(request, created),
                                 status=422)
    return RedirectResponse("/admin/users?done=created", status_code=303)


@router.post("/admin/users/{user_id}")
async def update_user(
    request: Request, user_id: str, session: DbSession, person: FormPoster, passwords: AppPasswords
) -> Response:
    """One user's roles, or disabling (which ends their sessions and tokens) and enabling."""
    require(person.principal, Action.manage_users)
    identifier = parse_id(user_id)
    form = await request.form()
    change: dict[str, Any] = {}
    if "disabled" in form:
        change["disabled"] = form.get("disabled") == "true"
    else:
        change["roles"] = [str(r) for r in form.getlist("roles")]
    try:
        body = UserUpdate.model_validate(change)
    except ValidationError as exc:
        errors = validation_errors(exc, messages=FIELD_MESSAGES)
        return await _users_page(request, session, person, errors=_for_user(errors, identifier), status=422)
    updated = await attempt(
        session,
        partial(organisations.update_user, session, actor=person.principal, user_id=identifier, data=body,
                passwords=passwords),
    )
    if isinstance(updated, Problem):
        if updated.status != 422:
            return await problem_page(request, updated)
        errors = _refusal_errors(request, updated)
        return await _users_page(request, session, person, errors=_for_user(errors, identifier), status=422)
    return RedirectResponse("/admin/users?done=updated", status_code=303)


def _for_user(errors: FormErrors, user_id: uuid.UUID) -> FormErrors:
    """Errors of one user's row, against that row's fields (`roles-<id>`)."""
    return FormErrors(fields={f"{name}-{user_id}": message for name, message in errors.fields.items()},
                      general=errors.general)


# --- system accounts --------------------------------------------------------------------------


async def _clients_page(request: Request, session: Any, person: Any, **context: Any) -> Response:
    clients, after = await organisations.list_clients(session, after_id=None, limit=PAGE)
    while after is not None:
        more, after = await organisations.list_clients(session, after_id=after, limit=PAGE)
        clients.extend(more)
    everything = await all_organisations(session)
    return await _page(
        request, session, person, "admin_clients.html",
        clients=clients, organisations=everything, names={o.id: o.name for o in everything}, roles=list(Role),
        done=request.query_params.get("done"), **context,
    )


@router.get("/admin/clients")
async def client_list(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    require(person.principal, Action.manage_clients)
    return await _clients_page(request, session, person)


@router.post("/admin/clients/new")
async def create_client(
    request: Request, session: DbSession, person: FormPoster, passwords: AppPasswords
) -> Response:
    require(person.principal, Action.manage_clients)
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in ("name", "organisation_id")}
    values["roles"] = [str(r) for r in form.getlist("roles")]
    try:
        body = ClientCreate.model_validate({**values, "organisation_id": values["organisation_id"] or None})
    except ValidationError as exc:
        return await _clients_page(request, session, person, values=values,
                                   errors=validation_errors(exc, messages=FIELD_MESSAGES), status=422)
    created = await attempt(
        session, partial(organisations.create_client, session, actor=person.principal, data=body, passwords=passwords)
    )
    if isinstance(created, Problem):
        if created.status != 422:
            return await problem_page(request, created)
        return await _clients_page(request, session, person, values=values,
                                   errors=_refusal_errors(request, created), status=422)
    return await _page(request, session, person, "admin_secret.html", status=201, client_name=created.name,
                       client_id=created.client_id, secret=created.client_secret, created=True)


@router.post("/admin/clients/{client_id}")
async def update_client(
    request: Request, client_id: str, session: DbSession, person: FormPoster, passwords: AppPasswords
) -> Response:
    """Disable or enable a client, or rotate its secret (the new one is shown on this answer only)."""
    require(person.principal, Action.manage_clients)
    identifier = parse_id(client_id)
    form = await request.form()
    rotate = form.get("rotate_secret") == "true"
    body = ClientUpdate(rotate_secret=True) if rotate else ClientUpdate(disabled=form.get("disabled") == "true")
    updated = await attempt(
        session,
        partial(organisations.update_client, session, actor=person.principal, client_id=identifier, data=body,
                passwords=passwords),
    )
    if isinstance(updated, Problem):
        return await problem_page(request, updated)
    if updated.client_secret:
        return await _page(request, session, person, "admin_secret.html", client_name=updated.name,
                           client_id=str(updated.id), secret=updated.client_secret, created=False)
    return RedirectResponse("/admin/clients?done=updated", status_code=303)
