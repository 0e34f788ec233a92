"""Teams API: the joint enrolment teams of a municipality and their members (DESIGN §7)."""

from __future__ import annotations

import uuid

from service.access.dependencies import PurposeOfUse
from service.auth.dependencies import CurrentPrincipal
from service.core.database import DbSession, api_router
from service.core.problems import Conflict, Forbidden, NotFound, Unauthenticated, ValidationProblem, problem_responses
from service.teams import service
from service.teams.schemas import MemberAdd, TeamCreate, TeamPage, TeamRead, TeamUpdate

router = api_router(tags=["teams"])
_ERRORS = problem_responses(Unauthenticated, Forbidden, ValidationProblem)
_ITEM_ERRORS = problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, ValidationProblem)


@router.post("/teams", status_code=201, response_model=TeamRead, responses=_ERRORS)
async def create_team(body: TeamCreate, session: DbSession, principal: CurrentPrincipal,
                      purpose: PurposeOfUse) -> TeamRead:
    return await service.create_team(session, actor=principal, purpose=purpose, data=body)


@router.get("/teams", response_model=TeamPage, responses=_ERRORS)
async def list_teams(session: DbSession, principal: CurrentPrincipal, purpose: PurposeOfUse) -> TeamPage:
    return TeamPage(items=await service.list_teams(session, actor=principal, purpose=purpose))


@router.get("/teams/{team_id}", response_model=TeamRead, responses=_ITEM_ERRORS)
async def read_team(team_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal,
                    purpose: PurposeOfUse) -> TeamRead:
    return await service.read_team(session, actor=principal, purpose=purpose, team_id=team_id)


@router.patch("/teams/{team_id}", response_model=TeamRead, responses=_ITEM_ERRORS)
async def update_team(team_id: uuid.UUID, body: TeamUpdate, session: DbSession, principal: CurrentPrincipal,
                      purpose: PurposeOfUse) -> TeamRead:
    return await service.update_team(session, actor=principal, purpose=purpose, team_id=team_id, data=body)


@router.post("/teams/{team_id}/members", status_code=201, response_model=TeamRead, responses=_ITEM_ERRORS)
async def add_member(team_id: uuid.UUID, body: MemberAdd, session: DbSession, principal: CurrentPrincipal,
                     purpose: PurposeOfUse) -> TeamRead:
    return await service.add_member(session, actor=principal, purpose=purpose, team_id=team_id, data=body)


@router.delete("/teams/{team_id}/members/{user_id}", response_model=TeamRead, responses=_ITEM_ERRORS)
async def remove_member(team_id: uuid.UUID, user_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal,
                        purpose: PurposeOfUse) -> TeamRead:
    return await service.remove_member(session, actor=principal, purpose=purpose, team_id=team_id, user_id=user_id)
