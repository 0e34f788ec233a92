"""Creating joint enrolment teams and managing their members. Every change is decided by the
access module (the coordinators and education officers of the team's municipality) and audited."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, enforce, require
from service.access.principal import Principal
from service.access.relationships import decide_team_management
from service.access.vocabulary import HELD_ALONE, Action, OrganisationKind, Purpose, Role
from service.core.clock import utcnow
from service.core.problems import Conflict, field_error
from service.organisations import repository as organisations
from service.teams import repository
from service.teams.models import Team, TeamMember
from service.teams.schemas import MemberAdd, MemberRead, TeamCreate, TeamRead, TeamUpdate

LEAD_KINDS = frozenset({OrganisationKind.municipality.value, OrganisationKind.education_authority.value})


async def _team_read(session: AsyncSession, team: Team) -> TeamRead:
    members = (await repository.members_of(session, [team.id]))[team.id]
    return TeamRead(
        id=team.id, code=team.code, name=team.name, municipality_code=team.municipality_code,
        settlement_codes=list(team.settlement_codes), lead_organisation_id=team.lead_organisation_id,
        members=[
            MemberRead(user_id=user.id, username=user.username, organisation_id=user.organisation_id,
                       added_at=member.added_at)
            for member, user in members
        ],
        created_at=team.created_at, updated_at=team.updated_at,
    )


async def _decided(
    session: AsyncSession, actor: Principal, purpose: Purpose | None, municipality_code: str, *,
    team_id: uuid.UUID | None, reason: str,
) -> Decision:
    decision = decide_team_management(actor, municipality_code, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="team", resource_id=str(team_id) if team_id else None)
    return await enforce(
        session, actor, Decision(allowed=True, action=decision.action, reason=reason,
            purpose=decision.purpose, basis=decision.basis),
        resource_type="team", resource_id=team_id,
    )


async def _team_or_404(
    session: AsyncSession, actor: Principal, purpose: Purpose | None, team_id: uuid.UUID
) -> Team:
    """The team, if the actor manages teams of its municipality; otherwise a 404 either way."""
    base = require(actor, Action.manage_teams, purpose=purpose)
    team = await repository.get_team(session, team_id)
    if team is None:
        raise AccessDenied(
            actor, Decision(allowed=False, action=base.action, reason="no such team",
                purpose=base.purpose, deny_status=404),
            resource_type="team", resource_id=str(team_id),
        )
    decision = decide_team_management(actor, team.municipality_code, purpose=purpose)
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="team", resource_id=str(team_id))
    return team


async def _check_lead(session: AsyncSession, lead_id: uuid.UUID, municipality_code: str) -> None:
    lead = await organisations.get_organisation(session, lead_id)
    if lead is None or lead.kind not in LEAD_KINDS:
        raise field_error("/lead_organisation_id", "a team is led by a municipality or an education authority")
    codes = (await organisations.municipality_codes(session, [lead.id]))[lead.id]
    if municipality_code not in codes:
        raise field_error("/lead_organisation_id", "the lead organisation does not serve the team's municipality")


async def create_team(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, data: TeamCreate
) -> TeamRead:
    require(actor, Action.manage_teams, purpose=purpose)
    decision = decide_team_management(actor, data.municipality_code, purpose=purpose)
    if not decision.allowed:
        # a municipality's existence is no secret: creating a team elsewhere is a plain 403
        raise AccessDenied(
            actor, Decision(allowed=False, action=decision.action, reason=decision.reason,
                purpose=decision.purpose), resource_type="team"
        )
    await _check_lead(session, data.lead_organisation_id, data.municipality_code)
    team = Team(
        code=data.code, name=data.name, municipality_code=data.municipality_code,
        settlement_codes=sorted(set(data.settlement_codes)), lead_organisation_id=data.lead_organisation_id,
    )
    session.add(team)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise field_error("/code", "a team with this code already exists") from None
    await _decided(session, actor, purpose, team.municipality_code, team_id=team.id, reason="team created")
    return await _team_read(session, team)


async def covering_teams(
    session: AsyncSession, *, settlements_by_municipality: dict[str, set[str | None]]
) -> dict[str, list[Team]]:
    """For each municipality, its teams whose area covers any of the settlements (a team with
    no settlements covers the whole municipality; None is a place not known). No decision: the
    caller has decided what the person may do with those places."""
    teams = await repository.teams_of_municipalities(session, sorted(settlements_by_municipality))
    return {
        code: [
            team for team in teams
            if team.municipality_code == code
            and (not team.settlement_codes or bool(set(team.settlement_codes) & places))
        ]
        for code, places in settlements_by_municipality.items()
    }


async def read_team(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, team_id: uuid.UUID
) -> TeamRead:
    team = await _team_or_404(session, actor, purpose, team_id)
    return await _team_read(session, team)


async def list_teams(session: AsyncSession, *, actor: Principal, purpose: Purpose | None) -> list[TeamRead]:
    """The teams of the municipalities the actor's organisation serves."""
    require(actor, Action.manage_teams, purpose=purpose)
    teams = await repository.teams_of_municipalities(session, sorted(actor.municipality_codes))
    return [await _team_read(session, team) for team in teams]


async def update_team(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, team_id: uuid.UUID, data: TeamUpdate
) -> TeamRead:
    team = await _team_or_404(session, actor, purpose, team_id)
    if data.lead_organisation_id is not None:
        await _check_lead(session, data.lead_organisation_id, team.municipality_code)
        team.lead_organisation_id = data.lead_organisation_id
    if data.name is not None:
        team.name = data.name
    if data.settlement_codes is not None:
        team.settlement_codes = sorted(set(data.settlement_codes))
    team.updated_at = utcnow()
    await session.flush()
    await _decided(session, actor, purpose, team.municipality_code, team_id=team.id, reason="team changed")
    return await _team_read(session, team)


async def add_member(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, team_id: uuid.UUID, data: MemberAdd
) -> TeamRead:
    """Put a user of any organisation on the team. Auditors and administrators read no child
    data, so they are never members; neither is a disabled account."""
    team = await _team_or_404(session, actor, purpose, team_id)
    user = await organisations.get_user(session, data.user_id)
    if user is None or user.disabled or user.organisation_id is None:
        raise field_error("/user_id", "no active user of an organisation has this id")
    if {Role(r) for r in user.roles} & HELD_ALONE:
        raise field_error("/user_id", "auditors and administrators cannot be team members")
    if await repository.membership(session, team.id, user.id) is not None:
        raise Conflict("the user is already a member of this team")
    session.add(TeamMember(team_id=team.id, user_id=user.id, added_by=actor.id))
    team.updated_at = utcnow()
    await session.flush()
    await _decided(session, actor, purpose, team.municipality_code, team_id=team.id, reason="team member added")
    return await _team_read(session, team)


async def member_named(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, team_id: uuid.UUID, username: str
) -> MemberAdd:
    """The member to add, chosen by username (the console's form); whether that user may join is
    then `add_member`'s decision. An unknown name, a disabled account and an auditor's or an
    administrator's get one answer, so the form tells no one which accounts exist or are
    privileged."""
    await _team_or_404(session, actor, purpose, team_id)
    user = await organisations.user_by_username(session, username.strip())
    if user is None or user.disabled or user.organisation_id is None or {Role(r) for r in user.roles} & HELD_ALONE:
        raise field_error("/username", "no one with this username can join a team")
    return MemberAdd(user_id=user.id)


async def remove_member(
    session: AsyncSession, *, actor: Principal, purpose: Purpose | None, team_id: uuid.UUID, user_id: uuid.UUID
) -> TeamRead:
    team = await _team_or_404(session, actor, purpose, team_id)
    if await repository.membership(session, team.id, user_id) is None:
        raise field_error("/user_id", "the user is not a member of this team")
    await repository.remove_member(session, team.id, user_id)
    team.updated_at = utcnow()
    await session.flush()
    await _decided(session, actor, purpose, team.municipality_code, team_id=team.id, reason="team member removed")
    return await _team_read(session, team)
