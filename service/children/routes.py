"""Children and enrolments API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Header, Request, Response

from service.access.dependencies import PurposeOfUse
from service.alerts import history as alerts
from service.alerts import known_to_cp
from service.alerts.schemas import ChildHistory, KnownToCp, KnownToCpQuestion
from service.auth.dependencies import CurrentPrincipal
from service.children import service, transfers
from service.children.schemas import (
    ChildCreate,
    ChildLookup,
    ChildMatch,
    ChildRead,
    EnrolmentCreate,
    EnrolmentRead,
    EnrolmentRelease,
    EnrolmentReleased,
    EnrolmentUpdate,
)
from service.core.clock import Today
from service.core.database import DbSession, api_router
from service.core.problems import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthenticated,
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
