"""The administrator's rules, as data: routing (who receives each type of alert, and on what
legal basis), absence thresholds, acknowledgement deadlines and escalations — read and replaced
through the same service functions as `GET`/`PUT /api/v1/routing-rules`, `/absence-rules`,
`/deadline-rules` and `/escalation-rules`. Each form replaces one rule set whole; a refusal
leaves the rules as they were and is shown against the row it names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from service.absences import service as absences
from service.absences.schemas import AbsenceRules
from service.access.policy import require
from service.access.vocabulary import Action, OrganisationKind
from service.alerts import deadline_rules as delivery
from service.alerts import rules as routing
from service.alerts.deadline_rules import DeadlineRules, EscalationRules
from service.alerts.details import AlertType
from service.alerts.schemas import LegalBasis, RoutingRules, Severity
from service.core.database import DbSession
from service.core.problems import Problem
from service.web.admin_pages import all_organisations
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt
from service.web.labels import LABELS, N_
from service.web.rendering import renderer
from service.web.row_errors import reword, wordings
from service.web.views import person_view

router = APIRouter(include_in_schema=False, tags=["console"])
#: blank rows offered for new escalations
NEW_ESCALATIONS = 2
CHECK_ROW = N_("Check this row: the value is not allowed here")
#: the services' refusals of a rule set, told again for people
RULE_WORDINGS = wordings(
    (r"^support_needed is shared on the basis of consent$",
     N_("A referral for support is shared on the basis of the guardian's consent")),
    (r"^public bodies share under legal_obligation or public_task, not consent$",
     N_("Public bodies share under a legal obligation or a public task, not on consent")),
    (r"^a kind is listed twice$", N_("A kind of organisation is listed twice")),
    (r"^alert type listed twice$", N_("The alert type is listed twice")),
    (r"^name used twice$", N_("Two rules have the same name")),
    (r"^a rule over (\d+) month\(s\) raises (\w+)$", N_("A rule over {0} month(s) raises “{1}”")),
    (r"^no such organisation$", N_("Choose the organisation")),
    (r"^a severity is listed twice$", N_("A severity is listed twice")),
    (r"^Value error, give either hours or working_days$", N_("Give either hours or working days")),
)


def _safe_count(form: FormData, name: str) -> int:
    raw = str(form.get(name) or "0")
    return min(int(raw), 100) if raw.isdigit() else 0


def _errors_by_row(problem: Problem | ValidationError, section: str, gettext: Callable[[str], str]) -> FormErrors:
    """Errors named by row (`items.2.threshold_hours` → `absences-2`), so each shows on its row."""
    errors = FormErrors()
    if isinstance(problem, ValidationError):
        entries = [(".".join(str(p) for p in e["loc"]), str(e["msg"])) for e in problem.errors()]
    else:
        entries = [
            (str(e.get("pointer") or "").removeprefix("#/").replace("/", "."), str(e.get("detail") or ""))
            for e in problem.errors or []
        ]
    names = {**LABELS["alert_type"]}
    for location, detail in entries:
        parts = location.split(".")
        message = reword(detail, RULE_WORDINGS, gettext, names)
        if message == detail:
            message = gettext(CHECK_ROW)
        if len(parts) >= 2 and parts[0] == "items" and parts[1].isdigit():
            errors.add(f"{section}-{parts[1]}", message)
        else:
            errors.general.append(message)
    if not errors:
        errors.general.append(N_("The rules could not be saved as they are; check every row"))
    return errors


async def _rules_page(
    request: Request, session: Any, person: Any, *, errors: FormErrors | None = None, status: int = 200
) -> Response:
    principal = person.principal
    escalations = await delivery.read_escalations(session, actor=principal)
    everything = await all_organisations(session)
    return renderer(request).page(
        request,
        "admin_rules.html",
        {
            "person": await person_view(session, person),
            "routing": (await routing.read(session)).items,
            "absence_rules": (await absences.read_rules(session, actor=principal)).items,
            "deadlines": {r.severity.value: r for r in (await delivery.read_deadlines(session, actor=principal)).items},
            "escalations": escalations.items,
            "new_escalations": NEW_ESCALATIONS,
            "organisations": everything,
            "kinds": list(OrganisationKind),
            "bases": list(LegalBasis),
            "severities": list(Severity),
            "errors": errors or FormErrors(),
            "done": request.query_params.get("done"),
        },
        status=status,
    )


@router.get("/admin/rules")
async def rules_page(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    require(person.principal, Action.manage_rules)
    return await _rules_page(request, session, person)


async def _replace(
    request: Request,
    session: Any,
    person: Any,
    section: str,
    build: Callable[[FormData], Any],
    replace: Callable[[Any], Awaitable[Any]],
) -> Response:
    require(person.principal, Action.manage_rules)
    gettext = partial(renderer(request).gettext, request)
    form = await request.form()
    try:
        body = build(form)
    except ValidationError as exc:
        return await _rules_page(request, session, person, errors=_errors_by_row(exc, section, gettext), status=422)
    done = await attempt(session, partial(replace, body))
    if isinstance(done, Problem):
        if done.status != 422:
            return await problem_page(request, done)
        return await _rules_page(request, session, person, errors=_errors_by_row(done, section, gettext), status=422)
    return RedirectResponse(f"/admin/rules?done={section}#{section}", status_code=303)


def _routing_body(form: FormData) -> RoutingRules:
    items = []
    for alert_type in AlertType:
        prefix = f"routing.{alert_type.value}"
        lead = str(form.get(f"{prefix}.lead") or "")
        others = [str(k) for k in form.getlist(f"{prefix}.others") if str(k) != lead]
        items.append({
            "alert_type": alert_type.value,
            "recipient_kinds": [k for k in [lead, *others] if k],
            "legal_basis": str(form.get(f"{prefix}.legal_basis") or ""),
            "forced_severity": str(form.get(f"{prefix}.forced_severity") or "") or None,
        })
    return RoutingRules.model_validate({"items": items})


@router.post("/admin/rules/routing")
async def replace_routing(request: Request, session: DbSession, person: FormPoster) -> Response:
    replace = partial(_routing_replace, session, person.principal)
    return await _replace(request, session, person, "routing", _routing_body, replace)


async def _routing_replace(session: Any, principal: Any, body: RoutingRules) -> Any:
    require(principal, Action.manage_rules)
    return await routing.replace(session, actor=principal, data=body)


def _absence_body(form: FormData) -> AbsenceRules:
    items = []
    for index in range(_safe_count(form, "absences.count")):
        prefix = f"absences.{index}"
        items.append({
            "name": str(form.get(f"{prefix}.name") or ""),
            "alert_type": str(form.get(f"{prefix}.alert_type") or ""),
            "severity": str(form.get(f"{prefix}.severity") or ""),
            "threshold_hours": str(form.get(f"{prefix}.threshold_hours") or "").strip(),
            "months": str(form.get(f"{prefix}.months") or "").strip(),
            "enabled": form.get(f"{prefix}.enabled") == "on",
            "unit": str(form.get(f"{prefix}.unit") or "hours"),
        })
    return AbsenceRules.model_validate({"items": items})


@router.post("/admin/rules/absences")
async def replace_absence_rules(request: Request, session: DbSession, person: FormPoster) -> Response:
    replace = partial(_keyword_replace, absences.replace_rules, session, person.principal)
    return await _replace(request, session, person, "absences", _absence_body, replace)


def _deadline_body(form: FormData) -> DeadlineRules:
    items = []
    for severity in Severity:
        prefix = f"deadlines.{severity.value}"
        measure = str(form.get(f"{prefix}.measure") or "")
        amount = str(form.get(f"{prefix}.amount") or "").strip()
        if measure in ("hours", "working_days"):
            items.append({"severity": severity.value, measure: amount})
    return DeadlineRules.model_validate({"items": items})


@router.post("/admin/rules/deadlines")
async def replace_deadlines(request: Request, session: DbSession, person: FormPoster) -> Response:
    replace = partial(_keyword_replace, delivery.replace_deadlines, session, person.principal)
    return await _replace(request, session, person, "deadlines", _deadline_body, replace)


def _escalation_body(form: FormData) -> EscalationRules:
    items = []
    for index in range(_safe_count(form, "escalations.count")):
        prefix = f"escalations.{index}"
        organisation = str(form.get(f"{prefix}.organisation_id") or "")
        if not organisation or form.get(f"{prefix}.remove") == "on":
            continue
        items.append({
            "severity": str(form.get(f"{prefix}.severity") or ""),
            "municipality_code": str(form.get(f"{prefix}.municipality_code") or "").strip().upper() or None,
            "organisation_id": organisation,
        })
    return EscalationRules.model_validate({"items": items})


@router.post("/admin/rules/escalations")
async def replace_escalations(request: Request, session: DbSession, person: FormPoster) -> Response:
    replace = partial(_keyword_replace, delivery.replace_escalations, session, person.principal)
    return await _replace(request, session, person, "escalations", _escalation_body, replace)


async def _keyword_replace(replace: Callable[..., Awaitable[Any]], session: Any, principal: Any, body: Any) -> Any:
    return await replace(session, actor=principal, data=body)
