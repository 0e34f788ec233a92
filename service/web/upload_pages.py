"""A school's monthly absence file, uploaded from the console: the same reading (UTF-8 with or
without BOM, or Windows-1251; comma or semicolon; Bulgarian or English headings) and the same
import as `POST /api/v1/absence-reports/csv`, all or nothing. When any row is wrong nothing is
imported and the page lists every bad row in a table: row, column, what to fix."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date
from functools import partial
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from service.absences import service as absences
from service.absences.parsing import csv_rows
from service.absences.schemas import AbsenceBatchRead
from service.access.policy import require
from service.access.principal import Principal
from service.access.vocabulary import Action
from service.core.clock import Today
from service.core.csv_reader import BatchInvalid, decode
from service.core.database import DbSession
from service.core.problems import Problem, ValidationProblem
from service.web.child_pages import parse_id
from service.web.dependencies import FormPoster, SignedInPerson
from service.web.errors import problem_page
from service.web.forms import FormErrors, attempt
from service.web.labels import N_
from service.web.rendering import renderer
from service.web.row_errors import RowError, row_errors
from service.web.views import person_view

router = APIRouter(include_in_schema=False, tags=["console"])


Rows = list[tuple[int, dict[str, str]]]


def _read_csv(raw: bytes, read_table: Callable[[str], Iterable[tuple[int, dict[str, str]]]]) -> Rows:
    return list(read_table(decode(raw)))


async def read_rows(raw: bytes, read_table: Callable[[str], Iterable[tuple[int, dict[str, str]]]]) -> Rows:
    """What the API's CSV routes do with their body: decode and split it off the event loop; a
    file that cannot be read at all is the same 422 the API answers."""
    try:
        return await anyio.to_thread.run_sync(_read_csv, raw, read_table)
    except BatchInvalid as exc:
        raise ValidationProblem(str(exc), errors=exc.errors) from None


async def uploaded_file(request: Request) -> tuple[bytes, str] | None:
    """The form's `file` and its name, or None when no file was chosen."""
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return await upload.read(), upload.filename


def refused_rows(request: Request, problem: Problem) -> tuple[FormErrors, list[RowError], int]:
    """A refused file's errors for the upload page: the field's message, every bad row in the
    person's language, and how many there were in all (the domain reports at most a thousand)."""
    found = row_errors(problem, partial(renderer(request).gettext, request))
    errors = FormErrors()
    errors.add("file", N_("Nothing was imported: correct the rows below and send the whole file again"))
    return errors, found, int(problem.extensions.get("errors_total") or len(found))


async def _import(
    session: Any, actor: Principal, raw: bytes, pin_secret: bytes, today: date
) -> AbsenceBatchRead:
    rows = await read_rows(raw, csv_rows)
    return await absences.submit(
        session, actor=actor, rows=rows, source="csv", pin_secret=pin_secret, today=today, purpose=None
    )


async def upload_page(
    request: Request,
    session: Any,
    person: Any,
    template: str,
    *,
    errors: FormErrors | None = None,
    rows: list[RowError] | None = None,
    rows_total: int = 0,
    filename: str = "",
    status: int = 200,
    **fields: str,
) -> Response:
    """An upload form (absences, rosters, lists of children to find) with what was refused of
    the last file, and the other fields as the person filled them in."""
    return renderer(request).page(
        request,
        template,
        {
            "person": await person_view(session, person),
            "errors": errors or FormErrors(),
            "rows": rows or [],
            "rows_total": rows_total,
            "filename": filename,
            **fields,
        },
        status=status,
    )


@router.get("/absences")
async def absences_form(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    require(person.principal, Action.submit_absences)
    return await upload_page(request, session, person, "absences.html")


@router.post("/absences/csv")
async def upload_absences(request: Request, session: DbSession, person: FormPoster, today: Today) -> Response:
    upload = await uploaded_file(request)
    if upload is None:
        require(person.principal, Action.submit_absences)
        errors = FormErrors()
        errors.add("file", N_("Choose the CSV file with the month's absences"))
        return await upload_page(request, session, person, "absences.html", errors=errors, status=422)
    raw, filename = upload
    imported = await attempt(
        session, partial(_import, session, person.principal, raw, request.app.state.pin_secret, today)
    )
    if not isinstance(imported, Problem):
        return RedirectResponse(f"/absences/{imported.id}", status_code=303)
    if imported.status != 422:
        return await problem_page(request, imported)
    errors, found, total = refused_rows(request, imported)
    return await upload_page(
        request, session, person, "absences.html", errors=errors, rows=found, rows_total=total, filename=filename,
        status=422,
    )


@router.get("/absences/{batch_id}")
async def batch_result(request: Request, batch_id: str, session: DbSession, person: SignedInPerson) -> Response:
    batch = await absences.read_batch(session, actor=person.principal, batch_id=parse_id(batch_id))
    return renderer(request).page(
        request,
        "absence_batch.html",
        {"person": await person_view(session, person), "batch": batch, "alerts": _alert_ids(batch)},
    )


def _alert_ids(batch: AbsenceBatchRead) -> list[tuple[uuid.UUID, bool]]:
    """(alert id, raised now) for each alert the batch raised or updated."""
    return [(a, True) for a in batch.alerts_raised] + [(a, False) for a in batch.alerts_updated]
