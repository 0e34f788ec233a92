"""Alerts in the console: "Сигнал за ученик" built from the type's schema, the school's list,
the officer's inbox, and the alert page where recipients acknowledge, record actions and close.

The alert's version travels in a hidden field and is sent to the lifecycle as the API's
`If-Match`; a form from before someone else's change becomes a page that says what changed.
Every write answers with a redirect to the alert (Post/Redirect/Get)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from service.access.principal import Principal
from service.access.relationships import POLICE_RAISES_IN_AREA
from service.access.vocabulary import Action, OrganisationKind
from service.alerts import assignment, lifecycle
from service.alerts import service as alerts
from service.alerts.details import AlertType, FieldVisitResult
from service.alerts.schemas import (
    ActionCreate,
    ActionKind,
    AlertAssign,
    AlertClose,
    AlertCreate,
    AlertRead,
    Outcome,
    Severity,
)
from service.children import service as children
from service.children.schemas import ChildRead
from service.core.clock import Today
from service.core.database import DbSession
from service.core.problems import Conflict, PreconditionFailed, Problem
from service.idempotency import service as idempotency
from service.organisations import service as organisations
from service.web.child_pages import parse_id
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt, detail_fields, details_from_form, problem_errors
from service.web.forms import validation_errors as _validation_errors
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.row_errors import reword, wordings
from service.web.sessions import new_token
from service.web.views import (
    alert_organisation_names,
    children_known,
    may,
    may_break_glass,
    organisation_names,
    person_view,
)

router = APIRouter(include_in_schema=False, tags=["console"])
Text = Annotated[str, Form(max_length=2000)]
Short = Annotated[str, Form(max_length=200)]
#: the assignment's refusals of a chosen person or team, told again for people
ASSIGN_WORDINGS = wordings(
    (r"^no active user has this id$", N_("This person can no longer be given alerts: choose another")),
    (r"^no such team$", N_("This team no longer exists: choose another")),
    (r"^the team does not cover the child's settlement$",
     N_("This team does not cover the child's settlement: choose another")),
)
#: past every feed position: the inbox service then answers only what is overdue
NOTHING_NEW_AFTER = 2**62


# --- raising an alert -------------------------------------------------------------------------


def raises_in_area(principal: Principal) -> bool:
    """Whether the person raises alerts about children of their area they may not read (police:
    `found_out_of_school`, DESIGN §3)."""
    return principal.organisation_kind is OrganisationKind.police and may(principal, Action.create_alert)


async def _new_alert_page(
    request: Request,
    session: DbSession,
    person: Any,
    today: Any,
    *,
    child_id: uuid.UUID,
    alert_type: AlertType | None,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    principal = person.principal
    read = await attempt(
        session, partial(children.read, session, actor=principal, child_id=child_id, purpose=None, today=today)
    )
    child: ChildRead | None = None
    types = list(AlertType)
    if not isinstance(read, Problem):
        child = read
    elif read.status != 404 or not raises_in_area(principal):
        return await problem_page(request, read)
    else:
        # police raise `found_out_of_school` about a child of their area whose record they may not
        # read: the form names no child (the officer has just looked the child up), and raising
        # the alert decides and audits the relationship as the API does
        types = [t for t in AlertType if t.value in POLICE_RAISES_IN_AREA]
        alert_type = alert_type if alert_type in types else None
    providers = await organisations.service_providers(session) if alert_type is AlertType.support_needed else []
    return renderer(request).page(
        request,
        "alert_new.html",
        {
            "person": await person_view(session, person),
            "child": child,
            "child_id": child_id,
            "alert_type": alert_type,
            "types": types,
            "severities": list(Severity),
            "fields": detail_fields(alert_type) if alert_type else [],
            "providers": providers,
            "values": values or {},
            "errors": errors or FormErrors(),
            "form_id": (values or {}).get("form_id") or new_token(),
        },
        status=status,
    )


@router.get("/alerts/new")
async def new_alert(
    request: Request, session: DbSession, person: SignedInPerson, today: Today,
    child: str = "", type: str = "",  # noqa: A002 - the query's name
) -> Response:
    alert_type = AlertType(type) if type in AlertType.__members__ else None
    return await _new_alert_page(
        request, session, person, today, child_id=parse_id(child), alert_type=alert_type
    )


@router.post("/alerts/new")
async def raise_alert(request: Request, session: DbSession, person: FormPoster, today: Today) -> Response:
    form = await request.form()
    child_id = parse_id(str(form.get("child") or ""))
    raw_type = str(form.get("type") or "")
    if raw_type not in AlertType.__members__:
        errors = FormErrors()
        errors.add("type", N_("Choose what the alert is about"))
        return await _new_alert_page(
            request, session, person, today, child_id=child_id, alert_type=None, errors=errors, status=422
        )
    alert_type = AlertType(raw_type)
    values = {key: form.getlist(key) if key == "details.indicators" else form.get(key) for key in form}
    details, errors = details_from_form(detail_fields(alert_type), form)
    note = str(form.get("note") or "").strip() or None
    try:
        body: AlertCreate | None = AlertCreate.model_validate(
            {"child_id": child_id, "type": alert_type, "severity": str(form.get("severity") or "concern"),
             "details": details, "note": note}
        )
    except ValidationError as exc:
        more = _validation_errors(exc)
        errors.fields.update(more.fields)
        errors.general.extend(more.general)
        body = None
    if errors or body is None:
        return await _new_alert_page(
            request, session, person, today, child_id=child_id, alert_type=alert_type, values=values, errors=errors,
            status=422,
        )
    form_id = str(form.get("form_id") or "")[:200] or None
    created = await attempt(session, partial(_create, session, person.principal, body, form_id, today))
    if isinstance(created, Problem):
        if created.status == 422:
            return await _new_alert_page(
                request, session, person, today, child_id=child_id, alert_type=alert_type, values=values,
                errors=problem_errors(created), status=422,
            )
        return await problem_page(request, created)
    return RedirectResponse(f"/alerts/{created}?done=raised", status_code=303)


async def _create(session: Any, principal: Principal, body: AlertCreate, form_id: str | None, today: Any) -> str:
    """The alert, raised once per form: submitting the same form twice shows the first alert."""
    async def redecide(first: Any) -> None:
        await alerts.redecide_creation(
            session, actor=principal, data=body, purpose=None, today=today, alert_id=uuid.UUID(first["id"])
        )

    claim, replay = await idempotency.begin(
        session, principal_id=principal.id, key=form_id, operation="alert.create", body=body, redecide=redecide
    )
    if replay is not None:
        return str(json.loads(bytes(replay.body))["id"])
    alert = await alerts.create_alert(session, actor=principal, data=body, purpose=None, today=today)
    await idempotency.remember(session, claim, status=201, body=alert, headers={})
    return str(alert.id)


# --- lists ------------------------------------------------------------------------------------


@router.get("/alerts")
async def alert_list(
    request: Request, session: DbSession, person: SignedInPerson, today: Today, status: str = ""
) -> Response:
    wanted = status if status in ("open", "closed") else None
    items, _ = await alerts.list_alerts(
        session,
        actor=person.principal,
        purpose=None,
        filters={"status": wanted, "alert_type": None, "severity": None, "child_id": None, "since": None},
        before=None,
        limit=100,
        today=today,
    )
    known = await children_known(session, person.principal, [a.child_id for a in items], today)
    names = await alert_organisation_names(
        session, person.principal, [r.organisation_id for a in items for r in a.recipients],
        raisers=[a.source_organisation_id for a in items], childs_school=_childs_school(request),
    )
    return renderer(request).page(
        request,
        "alerts.html",
        {"person": await person_view(session, person), "alerts": items, "children": known, "names": names,
         "status": wanted},
    )


@router.get("/inbox")
async def inbox(request: Request, session: DbSession, person: SignedInPerson, today: Today) -> Response:
    principal = person.principal
    overdue, _, _ = await alerts.inbox(
        session, actor=principal, purpose=None, after=NOTHING_NEW_AFTER, limit=1, today=today
    )
    open_alerts, _ = await alerts.list_alerts(
        session,
        actor=principal,
        purpose=None,
        filters={"status": "open", "alert_type": None, "severity": None, "child_id": None, "since": None},
        before=None,
        limit=200,
        today=today,
    )
    overdue_ids = {a.id for a in overdue}
    mine = [a for a in open_alerts if a.id not in overdue_ids and _my_part(a, principal) is not None]
    waiting = [a for a in mine if (_my_part(a, principal) or {}).get("state") == "delivered"]
    working = [a for a in mine if a not in waiting]
    everything = overdue + waiting + working
    known = await children_known(session, principal, [a.child_id for a in everything], today)
    names = await organisation_names(session, [a.source_organisation_id for a in everything])
    return renderer(request).page(
        request,
        "inbox.html",
        {
            "person": await person_view(session, person),
            "overdue": overdue,
            "waiting": waiting,
            "working": working,
            "children": known,
            "names": names,
        },
    )


def _my_part(alert: AlertRead, principal: Principal) -> dict[str, Any] | None:
    for recipient in alert.recipients:
        if recipient.organisation_id == principal.organisation_id:
            return recipient.model_dump(mode="json")
    return None


def _childs_school(request: Request) -> str:
    return renderer(request).gettext(request, N_("The child's school"))


# --- one alert --------------------------------------------------------------------------------


async def _alert_page(
    request: Request,
    session: Any,
    person: Any,
    today: Any,
    alert: AlertRead,
    *,
    errors: FormErrors | None = None,
    form: str | None = None,
    status: int = 200,
) -> Response:
    principal = person.principal
    known = await children_known(session, principal, [alert.child_id], today)
    ids = [alert.source_organisation_id, *(r.organisation_id for r in alert.recipients)]
    ids += [a.organisation_id for a in alert.actions] + [a.recipient_id for a in alert.actions if a.recipient_id]
    mine = _my_part(alert, principal)
    can_respond = alert.status == "open" and mine is not None and may(principal, Action.respond_to_alert)
    choices = await assignment.assignment_choices(
        session, actor=principal, alert_id=alert.id, purpose=None, today=today
    )
    assignee_name, team_name = await assignment.assigned_to(
        session, assignee_id=alert.assignee_id, team_id=alert.team_id
    )
    return renderer(request).page(
        request,
        "alert.html",
        {
            "person": await person_view(session, person),
            "alert": alert,
            "child": known.get(alert.child_id),
            "names": await alert_organisation_names(
                session, principal, ids, raisers=[alert.source_organisation_id], childs_school=_childs_school(request)
            ),
            "mine": mine,
            "can_respond": can_respond,
            "choices": choices,
            "assignee_name": assignee_name,
            "team_name": team_name,
            "may_break_glass": may_break_glass(principal),
            "action_kinds": [k for k in ActionKind if k is not ActionKind.referral],
            "visit_results": list(FieldVisitResult),
            "outcomes": list(Outcome),
            "errors": errors or FormErrors(),
            "failed_form": form,
            "seen_at": alert.updated_at.isoformat(),
            "done": request.query_params.get("done"),
        },
        status=status,
    )


@router.get("/alerts/{alert_id}")
async def alert_page(
    request: Request, alert_id: str, session: DbSession, person: SignedInPerson, today: Today
) -> Response:
    alert = await alerts.read_alert(
        session, actor=person.principal, alert_id=parse_id(alert_id), purpose=None, today=today
    )
    return await _alert_page(request, session, person, today, alert)


def _changes_since(alert: AlertRead, seen: datetime, names: dict[uuid.UUID, str]) -> list[tuple[datetime, str, Any]]:
    """What happened to the alert after the person's page was drawn: (when, what, details)."""
    changes: list[tuple[datetime, str, Any]] = []
    for recipient in alert.recipients:
        if recipient.acknowledged_at and recipient.acknowledged_at > seen:
            changes.append((recipient.acknowledged_at, "acknowledged", names.get(recipient.organisation_id)))
        if recipient.done_at and recipient.done_at > seen:
            changes.append((recipient.done_at, "recipient_done", names.get(recipient.organisation_id)))
    for action in alert.actions:
        if action.created_at > seen:
            changes.append((action.created_at, "action", action))
    if alert.closed_at and alert.closed_at > seen:
        changes.append((alert.closed_at, "alert_closed", alert.outcome))
    return sorted(changes, key=lambda change: change[0])


async def _respond(
    request: Request,
    session: Any,
    person: Any,
    today: Any,
    alert_id: uuid.UUID,
    form_name: str,
    work: Any,
    version: str,
    seen_at: str,
    field: str | None = None,
) -> Response:
    """Run one lifecycle step with the form's version as If-Match, and answer with the right page
    (with `field`, a refusal's errors are that field's: the form's one input)."""
    if_match = f'"{version}"' if version.isdigit() else '"0"'
    outcome = await attempt(session, partial(work, if_match=if_match))
    if not isinstance(outcome, Problem):
        return RedirectResponse(f"/alerts/{alert_id}?done={form_name}", status_code=303)
    if outcome.status in (403, 404):
        return await problem_page(request, outcome)
    current = await alerts.read_alert(session, actor=person.principal, alert_id=alert_id, purpose=None, today=today)
    if isinstance(outcome, PreconditionFailed):
        try:
            seen = datetime.fromisoformat(seen_at)
        except ValueError:
            seen = datetime.min.replace(tzinfo=UTC)
        ids = [r.organisation_id for r in current.recipients] + [a.organisation_id for a in current.actions]
        names = await alert_organisation_names(
            session, person.principal, ids, raisers=[current.source_organisation_id],
            childs_school=_childs_school(request),
        )
        return renderer(request).page(
            request,
            "stale.html",
            {
                "person": await person_view(session, person),
                "alert": current,
                "changes": _changes_since(current, seen, names),
                "names": names,
            },
            status=409,
        )
    if isinstance(outcome, Conflict):
        errors = FormErrors(general=[N_("Someone has already done this: the alert is closed or already acknowledged.")])
    else:
        errors = problem_errors(outcome)
        if field and errors.fields:
            told = reword(next(iter(errors.fields.values())), ASSIGN_WORDINGS, str)
            errors = FormErrors(fields={field: told}, general=errors.general)
    return await _alert_page(
        request, session, person, today, current, errors=errors, form=form_name, status=outcome.status
    )


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(
    request: Request, alert_id: str, session: DbSession, person: FormPoster, today: Today,
    version: Short = "", seen_at: Short = "",
) -> Response:
    identifier = parse_id(alert_id)
    work = partial(lifecycle.acknowledge, session, actor=person.principal, alert_id=identifier, purpose=None,
                   today=today)
    return await _respond(request, session, person, today, identifier, "acknowledged", work, version, seen_at)


@router.post("/alerts/{alert_id}/actions")
async def record_action(
    request: Request, alert_id: str, session: DbSession, person: FormPoster, today: Today,
    version: Short = "", seen_at: Short = "", kind: Short = "", text: Text = "", result: Short = "",
    restricted: Short = "",
) -> Response:
    identifier = parse_id(alert_id)
    try:
        body = ActionCreate.model_validate(
            {"kind": kind, "text": text.strip() or None, "result": result or None, "restricted": restricted == "on"}
        )
    except ValidationError as exc:
        current = await alerts.read_alert(
            session, actor=person.principal, alert_id=identifier, purpose=None, today=today
        )
        errors = _validation_errors(exc, prefix="")
        if kind == "field_visit" and not result:
            errors.add("result", N_("Choose the result of the visit"))
        return await _alert_page(request, session, person, today, current, errors=errors, form="action", status=422)
    work = partial(lifecycle.add_action, session, actor=person.principal, alert_id=identifier, purpose=None,
                   data=body, today=today)
    return await _respond(request, session, person, today, identifier, "action", work, version, seen_at)


@router.post("/alerts/{alert_id}/close")
async def close(
    request: Request, alert_id: str, session: DbSession, person: FormPoster, today: Today,
    version: Short = "", seen_at: Short = "", outcome: Short = "", reason: Text = "",
) -> Response:
    identifier = parse_id(alert_id)
    try:
        body = AlertClose.model_validate({"outcome": outcome, "reason": reason.strip() or None})
    except ValidationError as exc:
        current = await alerts.read_alert(
            session, actor=person.principal, alert_id=identifier, purpose=None, today=today
        )
        errors = _validation_errors(exc)
        if outcome == "other" and not reason.strip():
            errors = FormErrors(fields={"reason": N_("Say what the outcome was")})
        return await _alert_page(request, session, person, today, current, errors=errors, form="close", status=422)
    work = partial(lifecycle.close, session, actor=person.principal, alert_id=identifier, purpose=None,
                   data=body, today=today)
    return await _respond(request, session, person, today, identifier, "closed", work, version, seen_at)


@router.post("/alerts/{alert_id}/assign")
async def assign(
    request: Request, alert_id: str, session: DbSession, person: FormPoster, today: Today,
    version: Short = "", seen_at: Short = "", assignee: Short = "",
) -> Response:
    """Give the alert to a person of one's own organisation (`person:<id>`) or to a joint
    enrolment team (`team:<id>`), as chosen from the page's list."""
    identifier = parse_id(alert_id)
    kind, _, chosen = assignee.partition(":")
    try:
        body = AlertAssign.model_validate(
            {"assignee_id": chosen} if kind == "person" else {"team_id": chosen} if kind == "team" else {}
        )
    except ValidationError:
        current = await alerts.read_alert(
            session, actor=person.principal, alert_id=identifier, purpose=None, today=today
        )
        errors = FormErrors(fields={"assignee": N_("Choose the person or team to give the alert to")})
        return await _alert_page(request, session, person, today, current, errors=errors, form="assign", status=422)
    work = partial(assignment.assign, session, actor=person.principal, alert_id=identifier, purpose=None,
                   data=body, today=today)
    return await _respond(request, session, person, today, identifier, "assigned", work, version, seen_at,
                          field="assignee")
