"""Forms of the console: running a domain call so that a refusal becomes a page, the alert
details form built from each alert type's JSON Schema, and problems turned into field errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.details import DETAILS_MODELS, AlertType
from service.auth.service import record_refusal
from service.core.clock import LOCAL_ZONE
from service.core.problems import Problem
from service.web.labels import FIELD_CHOICES, N_

T = TypeVar("T")


async def attempt(session: AsyncSession, work: Callable[[], Awaitable[T]]) -> T | Problem:
    """Run a domain call in a savepoint. A refusal rolls its work back and is audited (and a
    failed sign-in counted) exactly as the API's problem handler does, then handed back for
    the page to show; the request's transaction goes on to commit the audit event."""
    try:
        async with session.begin_nested():
            return await work()
    except Problem as problem:
        await record_refusal(session, problem)
        return problem


@dataclass
class FormErrors:
    """Errors by field name; the summary at the top of the page links to each field."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)


def problem_errors(problem: Problem, *, prefix: str = "") -> FormErrors:
    """A validation problem's pointers (`#/details/month`) as form field names (`details.month`)."""
    errors = FormErrors()
    for entry in problem.errors or []:
        pointer = str(entry.get("pointer") or "").removeprefix("#/").strip("/")
        name = prefix + pointer.replace("/", ".") if pointer else ""
        message = str(entry.get("detail") or problem.detail or problem.title)
        if name:
            errors.add(name, message)
        else:
            errors.general.append(message)
    if not errors:
        errors.general.append(problem.detail or problem.title)
    return errors


def validation_errors(exc: ValidationError, prefix: str = "", messages: dict[str, str] | None = None) -> FormErrors:
    """A request model's validation errors by form field; `messages` gives a field's words for
    people (by the first part of its location), in place of the validator's."""
    errors = FormErrors()
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        name = prefix + ".".join(loc) if loc else ""
        if messages and loc and loc[0] in messages:
            errors.add(prefix + loc[0], messages[loc[0]])
        elif name:
            errors.add(name, str(err["msg"]))
        else:
            errors.general.append(str(err["msg"]).removeprefix("Value error, "))
    return errors


@dataclass(frozen=True)
class DetailField:
    """One input of the details form, from a property of the type's JSON Schema."""

    name: str
    kind: str  # text, integer, date, datetime, checkbox, select, checkboxes, organisation
    required: bool
    choices: tuple[str, ...] = ()
    choice_group: str = ""
    pattern: str | None = None


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return dict(schema["$defs"][node["$ref"].rsplit("/", 1)[-1]])
    for option in node.get("anyOf", []):
        if option.get("type") != "null":
            return _resolve(schema, option)
    return node


def detail_fields(alert_type: AlertType) -> list[DetailField]:
    """The inputs of a type's details, read from the same JSON Schema the API validates with
    (and `schemas/alert-details/` commits)."""
    schema = DETAILS_MODELS[alert_type].model_json_schema()
    required = set(schema.get("required", []))
    fields = []
    for name, raw in schema.get("properties", {}).items():
        node = _resolve(schema, raw)
        kind, choices = "text", ()
        if "enum" in node:
            kind, choices = "select", tuple(node["enum"])
        elif node.get("type") == "integer":
            kind = "integer"
        elif node.get("type") == "boolean":
            kind = "checkbox"
        elif node.get("format") == "date":
            kind = "date"
        elif node.get("format") == "date-time":
            kind = "datetime"
        elif node.get("format") == "uuid":
            kind = "organisation"
        elif node.get("type") == "array":
            items = _resolve(schema, node.get("items", {}))
            pattern = items.get("pattern", "")
            if pattern.startswith("^(") and pattern.endswith(")$"):
                kind, choices = "checkboxes", tuple(pattern[2:-2].split("|"))
            else:
                kind = "list"
        fields.append(
            DetailField(
                name=name,
                kind=kind,
                required=name in required,
                choices=choices,
                choice_group=FIELD_CHOICES.get(name, ""),
                pattern=node.get("pattern"),
            )
        )
    return fields


#: what a browser without a date and time picker lets people type instead (day first, as in Bulgaria)
_TYPED_MOMENT = "%d.%m.%Y %H:%M"


def local_moment(raw: str) -> datetime | None:
    """A date and time as a form sends it (`2026-11-24T10:00` from a picker, or typed as
    `24.11.2026 10:00`), in Bulgarian time when no offset is given; None when it is neither."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        try:
            moment = datetime.strptime(raw, _TYPED_MOMENT)  # noqa: DTZ007 - the zone is set just below
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL_ZONE)


def details_from_form(fields: list[DetailField], form: Any) -> tuple[dict[str, Any], FormErrors]:
    """The details object the API would be sent; a whole number that is not one is a field
    error here, everything else is left to the domain's validation."""
    details: dict[str, Any] = {}
    errors = FormErrors()
    for item in fields:
        key = f"details.{item.name}"
        if item.kind == "checkbox":
            details[item.name] = form.get(key) == "on"
            continue
        if item.kind == "checkboxes":
            chosen = [value for value in form.getlist(key) if value in item.choices]
            if chosen:
                details[item.name] = chosen
            continue
        raw = str(form.get(key) or "").strip()
        if not raw:
            continue
        if item.kind == "integer":
            if not raw.lstrip("-").isdigit():
                errors.add(key, N_("Enter a whole number"))
                continue
            details[item.name] = int(raw)
        elif item.kind == "datetime":
            moment = local_moment(raw)
            if moment is None:
                errors.add(key, N_("Enter the date and time like 24.11.2026 10:30"))
                continue
            details[item.name] = moment.isoformat()
        elif item.kind == "list":
            details[item.name] = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            details[item.name] = raw
    return details, errors
