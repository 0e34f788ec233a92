"""Assigning an alert (DESIGN §3 Assignment): a recipient's part to one of its own users, or an
enrolment-kind alert to a joint enrolment team, whose members then see and act on it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, decide
from service.access.principal import Principal
from service.access.relationships import decide_alert, decide_assignment
from service.access.vocabulary import HELD_ALONE, Action, Purpose, Role
from service.alerts import repository
from service.alerts.changes import Told
from service.alerts.lifecycle import _changed, _refusals_audited, parse_if_match, person_ids
from service.alerts.models import Alert
from service.alerts.schemas import AlertAssign, AlertRead
from service.core.problems import Conflict, PreconditionFailed, field_error
from service.notices.events import NoticeEvent
from service.organisations import repository as organisations
from service.teams import repository as teams
from service.teams.models import Team


async def assign(
    session: AsyncSession,
    *,
    actor: Principal,
    alert_id: uuid.UUID,
    if_match: str | None,
    purpose: Purpose | None,
    data: AlertAssign,
    today: date,
) -> AlertRead:
    base = decide(actor, Action.assign_alert, purpose=purpose)
    if not base.allowed:
        raise AccessDenied(actor, base, resource_type="alert", resource_id=str(alert_id))
    alert = await repository.get_alert(session, alert_id, for_update=True)
    if alert is None:
        raise AccessDenied(
            actor, Decision(allowed=False, action=base.action, reason="no such alert",
                purpose=base.purpose, deny_status=404),
            resource_type="alert", resource_id=str(alert_id),
        )
    facts = await repository.alert_facts(session, alert)
    related = decide_alert(actor, Action.assign_alert, facts, purpose=purpose, today=today)
    if not related.allowed:
        raise AccessDenied(actor, related, resource_type="alert", resource_id=str(alert.id), child_id=alert.child_id)
    team: Team | None = None
    team_municipality: str | None = None
    assignee_organisation: uuid.UUID | None = None
    if data.team_id is not None:
        team = await teams.get_team(session, data.team_id)
        if team is None:
            raise field_error("/team_id", "no such team")
        team_municipality = team.municipality_code
    else:
        assert data.assignee_id is not None  # noqa: S101 - the schema requires one of the two
        user = await organisations.get_user(session, data.assignee_id)
        if user is None or user.disabled:
            raise field_error("/assignee_id", "no active user has this id")
        if {Role(r) for r in user.roles} & HELD_ALONE:
            raise field_error("/assignee_id", "auditors and administrators read no child data: they take no case")
        assignee_organisation = user.organisation_id
    decision = decide_assignment(
        actor, facts, purpose=purpose, today=today,
        team_municipality=team_municipality, assignee_organisation=assignee_organisation,
    )
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="alert", resource_id=str(alert.id), child_id=alert.child_id)
    if team is not None and not _covers(team, alert):
        raise field_error("/team_id", "the team does not cover the child's settlement")
    target = f"team {data.team_id}" if data.team_id else "a user of the recipient"
    with _refusals_audited(actor, decision, alert):
        if parse_if_match(if_match) != alert.version:
            raise PreconditionFailed(f"the alert changed (version {alert.version}); read it again")
        if alert.status == "closed":
            raise Conflict("the alert is closed")
    if data.team_id is not None:
        alert.team_id = data.team_id
    else:
        recipients = (await repository.recipients_of(session, [alert.id]))[alert.id]
        mine = next(r for r in recipients if r.organisation_id == actor.organisation_id)
        mine.assignee_id = data.assignee_id
    # the officer it was given to is told by e-mail (if they asked for it), unless they took it
    told = [] if data.assignee_id is None else [
        Told(NoticeEvent.alert_assigned, [data.assignee_id], person_ids([actor.id]))
    ]
    return await _changed(session, alert, actor, decision, f"alert assigned to {target}", today, told=told)


def _covers(team: Team, alert: Alert) -> bool:
    """Whether the team's settlements take in the child's (a team listing none covers its whole
    municipality; an alert with no settlement is taken by any team of its municipality)."""
    return not team.settlement_codes or not alert.settlement_code or alert.settlement_code in team.settlement_codes


@dataclass(frozen=True)
class AssignmentChoices:
    """Whom a person may give an alert to, by name: their own organisation's people (a
    recipient's part) and the teams of the alert's municipality that cover the child's
    settlement (an enrolment lead). Both empty: the person assigns nothing here."""

    people: list[tuple[uuid.UUID, str]]
    teams: list[tuple[uuid.UUID, str]]


async def assignment_choices(
    session: AsyncSession, *, actor: Principal, alert_id: uuid.UUID, purpose: Purpose | None, today: date
) -> AssignmentChoices:
    """What `assign` would accept from the actor for this alert, decided by the same rules
    (the actor has already read the alert; this reads no child data)."""
    nothing = AssignmentChoices(people=[], teams=[])
    if not decide(actor, Action.assign_alert, purpose=purpose).allowed:
        return nothing
    alert = await repository.get_alert(session, alert_id)
    if alert is None or alert.status == "closed":
        return nothing
    facts = await repository.alert_facts(session, alert)
    people: list[tuple[uuid.UUID, str]] = []
    org = actor.organisation_id
    if org is not None and decide_assignment(
        actor, facts, purpose=purpose, today=today, assignee_organisation=org
    ).allowed:
        # auditors and administrators read no child data: nobody gives them a case
        people = [(user.id, user.username) for user in await organisations.active_users_of(session, org)
                  if not {Role(r) for r in user.roles} & HELD_ALONE]
    found: list[tuple[uuid.UUID, str]] = []
    if decide_assignment(actor, facts, purpose=purpose, today=today, team_municipality=facts.municipality_code).allowed:
        area = await teams.teams_of_municipalities(session, [facts.municipality_code])
        found = [(team.id, team.name) for team in area if _covers(team, alert)]
    return AssignmentChoices(people=people, teams=found)


async def assigned_to(
    session: AsyncSession, *, assignee_id: uuid.UUID | None, team_id: uuid.UUID | None
) -> tuple[str | None, str | None]:
    """The names of an alert's assignee and team as its reader was answered them."""
    person = (await organisations.usernames(session, [assignee_id]))[assignee_id] if assignee_id else None
    team = await teams.get_team(session, team_id) if team_id else None
    return person, team.name if team else None
