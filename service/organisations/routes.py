"""Administration API: organisations, users and system clients (platform admin only)."""

from __future__ import annotations

import uuid

from fastapi import Request, Response

from service.access.policy import require
from service.access.vocabulary import Action
from service.auth.dependencies import AppPasswords, CurrentPrincipal
from service.core.database import DbSession, api_router
from service.core.pagination import CursorParam, Limit, encode_cursor, link_next, text_after
from service.core.problems import (
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationProblem,
    problem_responses,
)
from service.organisations import service
from service.organisations.schemas import (
    ClientCreate,
    ClientCreated,
    ClientRead,
    ClientUpdate,
    OrganisationCreate,
    OrganisationPage,
    OrganisationRead,
    OrganisationUpdate,
    UserCreate,
    UserPage,
    UserRead,
    UserUpdate,
)

router = api_router(tags=["administration"])
_ERRORS = problem_responses(Unauthenticated, Forbidden, ValidationProblem)
_ITEM_ERRORS = problem_responses(Unauthenticated, Forbidden, NotFound, ValidationProblem)


@router.post("/organisations", status_code=201, response_model=OrganisationRead, responses=_ERRORS)
async def create_organisation(
    body: OrganisationCreate, session: DbSession, principal: CurrentPrincipal
) -> OrganisationRead:
    require(principal, Action.manage_organisations)
    return await service.create_organisation(session, actor=principal, data=body)


@router.get("/organisations", response_model=OrganisationPage, responses=_ERRORS)
async def list_organisations(
    request: Request, response: Response, session: DbSession, principal: CurrentPrincipal,
    limit: Limit = 50, after: CursorParam = None,
) -> OrganisationPage:
    require(principal, Action.manage_organisations)
    items, last = await service.list_organisations(session, after_code=text_after(after), limit=limit)
    next_cursor = encode_cursor([last]) if last else None
    link_next(request, response, next_cursor)
    return OrganisationPage(items=items, next=next_cursor)


@router.get("/organisations/{organisation_id}", response_model=OrganisationRead, responses=_ITEM_ERRORS)
async def read_organisation(
    organisation_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> OrganisationRead:
    require(principal, Action.manage_organisations)
    return await service.read_organisation(session, organisation_id=organisation_id)


@router.patch("/organisations/{organisation_id}", response_model=OrganisationRead, responses=_ITEM_ERRORS)
async def update_organisation(
    organisation_id: uuid.UUID, body: OrganisationUpdate, session: DbSession, principal: CurrentPrincipal
) -> OrganisationRead:
    require(principal, Action.manage_organisations)
    return await service.update_organisation(
        session, actor=principal, organisation_id=organisation_id, data=body
    )


@router.post("/users", status_code=201, response_model=UserRead, responses=_ERRORS)
async def create_user(
    body: UserCreate, session: DbSession, principal: CurrentPrincipal, passwords: AppPasswords
) -> UserRead:
    require(principal, Action.manage_users)
    return await service.create_user(session, actor=principal, data=body, passwords=passwords)


@router.get("/users", response_model=UserPage, responses=_ERRORS)
async def list_users(
    request: Request, response: Response, session: DbSession, principal: CurrentPrincipal,
    limit: Limit = 50, after: CursorParam = None,
) -> UserPage:
    require(principal, Action.manage_users)
    items, last = await service.list_users(session, after_username=text_after(after), limit=limit)
    next_cursor = encode_cursor([last]) if last else None
    link_next(request, response, next_cursor)
    return UserPage(items=items, next=next_cursor)


@router.patch("/users/{user_id}", response_model=UserRead, responses=_ITEM_ERRORS)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, session: DbSession, principal: CurrentPrincipal,
    passwords: AppPasswords,
) -> UserRead:
    require(principal, Action.manage_users)
    return await service.update_user(
        session, actor=principal, user_id=user_id, data=body, passwords=passwords
    )


@router.post("/clients", status_code=201, response_model=ClientCreated, responses=_ERRORS)
async def create_client(
    body: ClientCreate, session: DbSession, principal: CurrentPrincipal, passwords: AppPasswords
) -> ClientCreated:
    require(principal, Action.manage_clients)
    return await service.create_client(session, actor=principal, data=body, passwords=passwords)


@router.patch(
    "/clients/{client_id}",
    response_model=ClientRead,
    responses=_ITEM_ERRORS,
    summary="Disable or re-enable a client, or rotate its secret (the new secret is in this answer only)",
)
async def update_client(
    client_id: uuid.UUID, body: ClientUpdate, session: DbSession, principal: CurrentPrincipal,
    passwords: AppPasswords,
) -> ClientRead:
    require(principal, Action.manage_clients)
    return await service.update_client(
        session, actor=principal, client_id=client_id, data=body, passwords=passwords
    )
