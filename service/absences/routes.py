"""Absence feed API: JSON and CSV batches, batch results, threshold rules."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Header, Request, Response

from service.absences import service
from service.absences.parsing import BatchInvalid, csv_rows, decode
from service.absences.schemas import AbsenceBatchBody, AbsenceBatchRead, AbsenceRules
from service.access.dependencies import PurposeOfUse
from service.auth.dependencies import CurrentPrincipal
from service.core.clock import Today
from service.core.csv_reader import CSV_TYPES
from service.core.database import DbSession, api_router
from service.core.problems import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationProblem,
    problem_responses,
)
from service.idempotency import service as idempotency

router = api_router(tags=["absences"])
_ERRORS = problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, ValidationProblem)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def _read_csv(raw: bytes) -> list[tuple[int, dict[str, str]]]:
    return list(csv_rows(decode(raw)))


async def _submit(
    request: Request,
    response: Response,
    session: Any,
    principal: Any,
    purpose: Any,
    today: Any,
    key: str | None,
    body: AbsenceBatchBody | bytes,
    rows: Any,
    source: str,
) -> Any:
    async def redecide(first: Any) -> None:
        await service.redecide_submission(
            session, actor=principal, purpose=purpose, batch_id=uuid.UUID(first["id"]),
            school_id=uuid.UUID(first["school_id"]),
        )

    claim, replay = await idempotency.begin(
        session, principal_id=principal.id, key=key, operation=f"absences.{source}", body=body, redecide=redecide
    )
    if replay is not None:
        return replay
    result = await service.submit(
        session,
        actor=principal,
        rows=rows,
        source=source,
        pin_secret=request.app.state.pin_secret,
        today=today,
        purpose=purpose,
    )
    headers = {"Location": f"/api/v1/absence-reports/{result.id}"}
    response.headers.update(headers)
    await idempotency.remember(session, claim, status=201, body=result, headers=headers)
    return result


@router.post(
    "/absence-reports",
    status_code=201,
    response_model=AbsenceBatchRead,
    responses=_ERRORS,
    summary="A batch of monthly absence figures as JSON rows; all or nothing",
)
async def submit_json(
    body: AbsenceBatchBody,
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    rows = ((number, row) for number, row in enumerate(body.rows, start=1))
    return await _submit(request, response, session, principal, purpose, today, idempotency_key, body, rows, "json")


@router.post(
    "/absence-reports/csv",
    status_code=201,
    response_model=AbsenceBatchRead,
    responses=problem_responses(
        Unauthenticated, Forbidden, Conflict, PayloadTooLarge, UnsupportedMediaType, ValidationProblem
    ),
    summary="A batch as CSV (UTF-8 with or without BOM, or Windows-1251; comma or semicolon)",
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def submit_csv(
    request: Request,
    response: Response,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: PurposeOfUse,
    today: Today,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in CSV_TYPES:
        raise UnsupportedMediaType("send the file as text/csv")
    raw = await request.body()
    try:
        # a 10 MiB file takes seconds to decode and split: off the event loop, which keeps answering
        rows = await anyio.to_thread.run_sync(_read_csv, raw)
    except BatchInvalid as exc:
        raise ValidationProblem(str(exc), errors=exc.errors) from None
    return await _submit(request, response, session, principal, purpose, today, idempotency_key, raw, rows, "csv")


@router.get("/absence-reports/{batch_id}", response_model=AbsenceBatchRead, responses=_ERRORS)
async def read_batch(batch_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> AbsenceBatchRead:
    return await service.read_batch(session, actor=principal, batch_id=batch_id)


@router.get("/absence-rules", response_model=AbsenceRules, responses=_ERRORS, tags=["rules"])
async def read_rules(session: DbSession, principal: CurrentPrincipal) -> AbsenceRules:
    return await service.read_rules(session, actor=principal)


@router.put("/absence-rules", response_model=AbsenceRules, responses=_ERRORS, tags=["rules"])
async def replace_rules(body: AbsenceRules, session: DbSession, principal: CurrentPrincipal) -> AbsenceRules:
    return await service.replace_rules(session, actor=principal, data=body)
