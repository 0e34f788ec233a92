"""Lists of children to find API: `POST /worklists/csv`."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import Query, Request

from service.access.dependencies import PurposeOfUse
from service.auth.dependencies import CurrentPrincipal
from service.core.clock import Today
from service.core.database import DbSession, api_router
from service.core.problems import (
    Forbidden,
    PayloadTooLarge,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationProblem,
    problem_responses,
)
from service.worklists import service
from service.worklists.parsing import BatchInvalid, decode, worklist_rows
from service.worklists.schemas import WorklistResult

router = api_router(tags=["worklists"])
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


def _read_csv(raw: bytes) -> list[tuple[int, dict[str, str]]]:
    return list(worklist_rows(decode(raw)))


@router.post(
    "/worklists/csv",
    status_code=201,
    response_model=WorklistResult,
    responses=problem_responses(Unauthenticated, Forbidden, PayloadTooLarge, UnsupportedMediaType, ValidationProblem),
    summary="A list of children to find as CSV: one not_enrolled alert per child and school year, all or nothing",
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_csv(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    school_year: Annotated[
        str | None, Query(max_length=9, description="YYYY/YYYY; default: the current school year")
    ] = None,
) -> Any:
    service.authorise(principal, purpose)  # a caller who may not import learns nothing about the file
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in CSV_TYPES:
        raise UnsupportedMediaType("send the file as text/csv")
    raw = await request.body()
    try:
        rows = await anyio.to_thread.run_sync(_read_csv, raw)
    except BatchInvalid as exc:
        raise ValidationProblem(str(exc), errors=exc.errors) from None
    return await service.import_list(
        session, actor=principal, purpose=purpose, rows=rows, school_year=school_year,
        pin_secret=request.app.state.pin_secret, today=today,
    )
