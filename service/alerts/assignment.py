"""Assigning an alert (DESIGN §3 Assignment): a recipient's part to one of its own users, or an
enrolment-kind alert to a joint enrolment team, whose members then see and act on it."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import AccessDenied, Decision, decide
from service.access.principal import Principal
from service.access.relationships import decide_alert, decide_assignment
from service.access.vocabulary import Action, Purpose
from service.alerts import repository
from service.alerts.changes import Told
from service.alerts.lifecycle import _changed, _refusals_audited, parse_if_match, person_ids
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
        assignee_organisation = user.organisation_id
    decision = decide_assignment(
        actor, facts, purpose=purpose, today=today,
        team_municipality=team_municipality, assignee_organisation=assignee_organisation,
    )
    if not decision.allowed:
        raise AccessDenied(actor, decision, resource_type="alert", resource_id=str(alert.id), child_id=alert.child_id)
    if team is not None and team.settlement_codes and alert.settlement_code \
            and alert.settlement_code not in team.settlement_codes:
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
