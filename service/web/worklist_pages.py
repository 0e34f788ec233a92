"""A list of children to find (the region's comparison of the civil and school registers),
uploaded from the console by an education officer or a municipal coordinator: the same reading
and the same import as `POST /api/v1/worklists/csv` (`worklists.service.import_list`), all or
nothing. A refused file lists every bad row in a table; the result says how many children and
alerts the list made, by municipality, and which teams' areas cover them."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.access.principal import Principal
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
from service.worklists import service as worklists
from service.worklists.parsing import worklist_rows
from service.worklists.schemas import WorklistResult

router = APIRouter(include_in_schema=False, tags=["console"])


async def _import(
    session: Any, actor: Principal, raw: bytes, school_year: str | None, pin_secret: bytes, today: date
) -> WorklistResult:
    """What the API's route does: decided before the file is read, then read and imported."""
    worklists.authorise(actor, None)
    rows = await read_rows(raw, worklist_rows)
    return await worklists.import_list(
        session, actor=actor, purpose=None, rows=rows, school_year=school_year, pin_secret=pin_secret, today=today
    )


def _names_school_year(problem: Problem) -> bool:
    return any(entry.get("parameter") == "school_year" for entry in problem.errors or [])


@router.get("/worklists")
async def worklist_form(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    worklists.authorise(person.principal, None)
    return await upload_page(request, session, person, "worklist.html", school_year="")


@router.post("/worklists/csv")
async def upload_worklist(request: Request, session: DbSession, person: FormPoster, today: Today) -> Response:
    school_year = str((await request.form()).get("school_year") or "").strip()
    upload = await uploaded_file(request)
    if upload is None:
        worklists.authorise(person.principal, None)
        errors = FormErrors()
        errors.add("file", N_("Choose the CSV file with the list of children to find"))
        return await upload_page(
            request, session, person, "worklist.html", errors=errors, school_year=school_year, status=422
        )
    raw, filename = upload
    imported = await attempt(
        session,
        partial(_import, session, person.principal, raw, school_year or None, request.app.state.pin_secret, today),
    )
    if isinstance(imported, Problem):
        if imported.status != 422:
            return await problem_page(request, imported)
        if _names_school_year(imported):
            errors = FormErrors()
            errors.add("school_year", N_("Write the school year as two consecutive years, for example 2026/2027"))
            return await upload_page(
                request, session, person, "worklist.html", errors=errors, school_year=school_year, status=422
            )
        errors, found, total = refused_rows(request, imported)
        return await upload_page(
            request, session, person, "worklist.html", errors=errors, rows=found, rows_total=total, filename=filename,
            school_year=school_year, status=422,
        )
    return renderer(request).page(
        request,
        "worklist_result.html",
        {"person": await person_view(session, person), "result": imported, "filename": filename},
    )
