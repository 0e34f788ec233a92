"""A school's whole roster, uploaded from the console by its administrator: the same reading and
the same import as `POST /api/v1/enrolments/batch/csv` (`children.rosters.import_roster`), all or
nothing. The result says how many pupils were registered, enrolled and matched, and how many of
the school's pupils the roster does not name (nothing is ended: a pupil leaves by a release)."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.access.principal import Principal
from service.children import rosters
from service.children.schemas import RosterResult
from service.core.clock import Today
from service.core.database import DbSession
from service.core.problems import Problem
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.upload_pages import read_rows, refused_rows, upload_page, uploaded_file
from service.web.views import person_view

router = APIRouter(include_in_schema=False, tags=["console"])


async def _import(
    session: Any, actor: Principal, raw: bytes, pin_secret: bytes, today: date, start_date: date | None
) -> RosterResult:
    rows = await read_rows(raw, rosters.csv_rows)
    return await rosters.import_roster(
        session, actor=actor, rows=rows, pin_secret=pin_secret, today=today, start_date=start_date
    )


@router.get("/enrolments/roster")
async def roster_form(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    rosters.authorise(person.principal)
    return await upload_page(request, session, person, "roster.html", start_date="")


@router.post("/enrolments/roster/csv")
async def upload_roster(request: Request, session: DbSession, person: FormPoster, today: Today) -> Response:
    start_text = str((await request.form()).get("start_date") or "").strip()
    upload = await uploaded_file(request)
    errors = FormErrors()
    start_date = None
    if start_text:
        try:
            start_date = date.fromisoformat(start_text)
        except ValueError:
            errors.add("start_date", N_("Enter a valid start date"))
    if upload is None:
        errors.add("file", N_("Choose the CSV file with the school's roster"))
    if errors or upload is None:
        rosters.authorise(person.principal)
        return await upload_page(
            request, session, person, "roster.html", errors=errors, start_date=start_text, status=422
        )
    raw, filename = upload
    imported = await attempt(
        session,
        partial(_import, session, person.principal, raw, request.app.state.pin_secret, today, start_date),
    )
    if isinstance(imported, Problem):
        if imported.status != 422:
            return await problem_page(request, imported)
        errors, found, total = refused_rows(request, imported)
        return await upload_page(
            request, session, person, "roster.html", errors=errors, rows=found, rows_total=total, filename=filename,
            start_date=start_text, status=422,
        )
    return renderer(request).page(
        request,
        "roster_result.html",
        {"person": await person_view(session, person), "result": imported, "filename": filename},
    )
