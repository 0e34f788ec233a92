"""Children and enrolments API."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import anyio.to_thread
from fastapi import Header, Query, Request, Response

from service.access.dependencies import PurposeOfUse
from service.alerts import history as alerts
from service.alerts import known_to_cp
from service.alerts.schemas import ChildHistory, KnownToCp, KnownToCpQuestion
from service.auth.dependencies import CurrentPrincipal
from service.children import provisional, rosters, service, transfers
from service.children.schemas import (
    ChildCreate,
    ChildLookup,
    ChildMatch,
    ChildMerge,
    ChildMerged,
    ChildRead,
    EnrolmentCreate,
    EnrolmentRead,
    EnrolmentRelease,
    EnrolmentReleased,
    EnrolmentUpdate,
    ProvisionalChildCreate,
    RosterBody,
    RosterResult,
)
from service.core.clock import Today
from service.core.csv_reader import CSV_TYPES, BatchInvalid, decode
from service.core.database import DbSession, api_router
from service.core.problems import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationProblem,
    problem_responses,
)

router = api_router(tags=["children"])
_ERRORS = problem_responses(Unauthenticated, Forbidden, NotFound, ValidationProblem)
_ENROLMENT_ERRORS = problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, ValidationProblem)


@router.post(
    "/children", status_code=201, response_model=None,
    responses={
        201: {"model": ChildRead, "description": "The child, registered"},
        200: {"model": ChildMatch, "description": "The child already known by this PIN: its id and nothing else"},
        **_ERRORS,
    },
    summary="Register a child, or match the one already known by this PIN (200, the id only)",
)
async def register_child(
    body: ChildCreate, request: Request, response: Response, session: DbSession,
    principal: CurrentPrincipal, purpose: PurposeOfUse, today: Today,
) -> ChildRead | ChildMatch:
    child = await service.register(
        session, actor=principal, data=body, pin_secret=request.app.state.pin_secret,
        today=today, purpose=purpose,
    )
    if isinstance(child, ChildMatch):
        response.status_code = 200
    return child


@router.post(
    "/children/provisional", status_code=201, response_model=None,
    responses={
        201: {"model": ChildRead, "description": "The provisional child, registered"},
        200: {"model": ChildMatch, "description": "The provisional child already registered with these names, "
              "year of birth, sex and settlement: its id"},
        **_ERRORS,
    },
    summary="Register a child met in the field whose ЕГН is not known (names, year of birth, sex, settlement)",
)
async def register_provisional_child(
    body: ProvisionalChildCreate, response: Response, session: DbSession, principal: CurrentPrincipal,
    purpose: PurposeOfUse, today: Today,
) -> ChildRead | ChildMatch:
    child = await provisional.register_provisional(session, actor=principal, data=body, purpose=purpose, today=today)
    if isinstance(child, ChildMatch):
        response.status_code = 200
    return child


@router.post(
    "/children/{child_id}/merge", response_model=ChildMerged, responses=_ENROLMENT_ERRORS,
    summary="Merge a provisional child into the record of its PIN (409 when both records have a PIN)",
)
async def merge_child(
    child_id: uuid.UUID, body: ChildMerge, request: Request, session: DbSession, principal: CurrentPrincipal,
    purpose: PurposeOfUse, today: Today,
) -> ChildMerged:
    return await provisional.merge(
        session, actor=principal, child_id=child_id, data=body, pin_secret=request.app.state.pin_secret,
        purpose=purpose, today=today,
    )


@router.post(
    "/children/lookup", response_model=ChildRead, responses=_ERRORS,
    summary="Find a related child by PIN (the PIN travels in the body, never in a URL)",
)
async def lookup_child(
    body: ChildLookup, request: Request, session: DbSession, principal: CurrentPrincipal,
    purpose: PurposeOfUse, today: Today,
) -> ChildRead:
    return await service.lookup(
        session, actor=principal, pin=body.pin, pin_secret=request.app.state.pin_secret,
        purpose=purpose, today=today,
    )


@router.post(
    "/children/known-to-cp", response_model=KnownToCp,
    responses=problem_responses(Unauthenticated, Forbidden, ValidationProblem, TooManyRequests),
    summary="Is this child known to child protection, and whom to call? Yes or no, never details; "
            "the department is told who asked",
)
async def ask_known_to_cp(
    body: KnownToCpQuestion, request: Request, session: DbSession, principal: CurrentPrincipal,
    purpose: PurposeOfUse,
) -> KnownToCp:
    return await known_to_cp.ask(
        session, actor=principal, pin=body.pin, reason=body.reason, pin_secret=request.app.state.pin_secret,
        purpose=purpose,
    )


@router.get("/children/{child_id}", response_model=ChildRead, responses=_ERRORS)
async def read_child(
    child_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, purpose: PurposeOfUse, today: Today
) -> ChildRead:
    return await service.read(session, actor=principal, child_id=child_id, purpose=purpose, today=today)


@router.get(
    "/children/{child_id}/history", response_model=ChildHistory, responses=_ERRORS,
    summary="The child's timeline across agencies, as far as the caller may see it",
)
async def child_history(
    child_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, purpose: PurposeOfUse, today: Today,
    break_glass_reason: Annotated[
        str | None,
        Header(alias="X-Break-Glass-Reason", max_length=1000,
               description="with X-Purpose-Of-Use: emergency; at least 20 characters; "
                           "percent-encode non-ASCII text as UTF-8"),
    ] = None,
) -> ChildHistory:
    return await alerts.history(
        session, actor=principal, child_id=child_id, purpose=purpose, today=today,
        break_glass_reason=break_glass_reason,
    )


@router.post(
    "/enrolments", status_code=201, response_model=EnrolmentRead, responses=_ENROLMENT_ERRORS,
    summary="Enrol a child at the caller's school (409 while another school has not released the pupil here)",
)
async def enrol(
    body: EnrolmentCreate, session: DbSession, principal: CurrentPrincipal, today: Today
) -> EnrolmentRead:
    return await service.enrol(session, actor=principal, data=body, today=today)


@router.patch("/enrolments/{enrolment_id}", response_model=EnrolmentRead, responses=_ENROLMENT_ERRORS)
async def update_enrolment(
    enrolment_id: uuid.UUID, body: EnrolmentUpdate, session: DbSession, principal: CurrentPrincipal
) -> EnrolmentRead:
    return await service.update_enrolment(session, actor=principal, enrolment_id=enrolment_id, data=body)


@router.post(
    "/enrolments/{enrolment_id}/release", response_model=EnrolmentReleased, responses=_ENROLMENT_ERRORS,
    summary="Release a pupil (the transfer certificate): to a school, abroad or unknown",
)
async def release_pupil(
    enrolment_id: uuid.UUID, body: EnrolmentRelease, session: DbSession, principal: CurrentPrincipal, today: Today
) -> EnrolmentReleased:
    return await transfers.release(session, actor=principal, enrolment_id=enrolment_id, data=body, today=today)


@router.post(
    "/enrolments/batch", response_model=RosterResult, responses=_ERRORS,
    summary="A school's whole roster as JSON rows: new pupils registered and enrolled, known ones matched; "
    "all or nothing",
)
async def import_roster(
    body: RosterBody, request: Request, session: DbSession, principal: CurrentPrincipal, today: Today
) -> RosterResult:
    rows = ((number, row) for number, row in enumerate(body.rows, start=1))
    return await rosters.import_roster(
        session, actor=principal, rows=rows, pin_secret=request.app.state.pin_secret, today=today,
        start_date=body.start_date,
    )


def _read_roster(raw: bytes) -> list[tuple[int, dict[str, str]]]:
    return list(rosters.csv_rows(decode(raw)))


@router.post(
    "/enrolments/batch/csv", response_model=RosterResult,
    responses=problem_responses(
        Unauthenticated, Forbidden, PayloadTooLarge, UnsupportedMediaType, ValidationProblem
    ),
    summary="A school's whole roster as CSV (UTF-8 with or without BOM, or Windows-1251; comma or semicolon; "
    "Bulgarian or English headers)",
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_roster_csv(
    request: Request, session: DbSession, principal: CurrentPrincipal, today: Today,
    start_date: Annotated[date | None, Query(description="when new enrolments start (default today)")] = None,
) -> RosterResult:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in CSV_TYPES:
        raise UnsupportedMediaType("send the file as text/csv")
    raw = await request.body()
    try:
        # a large file takes a while to decode and split: off the event loop, which keeps answering
        rows = await anyio.to_thread.run_sync(_read_roster, raw)
    except BatchInvalid as exc:
        raise ValidationProblem(str(exc), errors=exc.errors) from None
    return await rosters.import_roster(
        session, actor=principal, rows=rows, pin_secret=request.app.state.pin_secret, today=today,
        start_date=start_date,
    )
