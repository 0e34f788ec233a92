"""What every page shows of the person, and names for the ids a domain answer carries:
organisations by name, children by the names they are known by (each read through the children
service, so it is decided and audited as the API's read would be)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.access.policy import decide
from service.access.principal import Principal
from service.access.relationships import BREAK_GLASS_ROLES, MECHANISM_READERS, SUMMARY_READERS, reads_some_report
from service.access.vocabulary import Action, OrganisationKind, Role
from service.auth import service as auth
from service.children import service as children
from service.children.schemas import ChildRead
from service.core.problems import Problem
from service.organisations import service as organisations
from service.web.forms import attempt
from service.web.labels import N_
from service.web.sessions import SignedIn
from service.worklists.service import decide_import


def reads_summary(principal: Principal) -> bool:
    """The municipal summary opens for some municipality (`reports.service.summary` decides alike)."""
    return reads_some_report(principal, SUMMARY_READERS)


def reads_mechanism(principal: Principal) -> bool:
    """The mechanism report opens for some municipality (`reports.mechanism.mechanism` decides alike)."""
    return reads_some_report(principal, MECHANISM_READERS)


def imports_worklists(principal: Principal) -> bool:
    """A list of children to find may be sent (`worklists.service.authorise` decides alike)."""
    return decide_import(principal, None).allowed


#: the menu: what a person may do at all (function level, or as the page's service decides when
#: the function level is not enough; objects are decided on each page)
MENU: tuple[tuple[str, str, Action | Callable[[Principal], bool] | None], ...] = (
    ("/", N_("Start"), None),
    ("/children/search", N_("Find a pupil"), Action.lookup_child),
    ("/children/known-to-cp", N_("Known to child protection?"), Action.ask_known_to_cp),
    ("/alerts", N_("Alerts"), Action.read_alert),
    ("/inbox", N_("Inbox"), Action.read_inbox),
    ("/my/cases", N_("My cases"), Action.read_alert),
    ("/audit", N_("Audit trail"), Action.read_audit),
    ("/audit/verify", N_("Chain verification"), Action.read_audit),
    ("/audit/break-glass", N_("Emergency access review"), Action.read_audit),
    ("/absences", N_("Absences"), Action.submit_absences),
    ("/worklists", N_("Lists of children to find"), imports_worklists),
    # an education officer reads reports, but not the municipal summary (a coordinator's)
    ("/reports", N_("Report"), reads_summary),
    ("/reports/mechanism", N_("Enrolment mechanism"), reads_mechanism),
    ("/admin", N_("Administration"), Action.manage_organisations),
    ("/admin/teams", N_("Joint enrolment teams"), Action.manage_teams),
    # every signed-in person chooses their own notices
    ("/settings/notifications", N_("E-mail notices"), None),
)
#: entries for one role's work rather than an action (a provider's referrals)
ROLE_MENU = (
    ("/referrals", N_("Referrals"), Role.provider_worker),
    # a school's roster is sent by its administrator (children.rosters.authorise)
    ("/enrolments/roster", N_("Roster"), Role.school_admin),
)


def may_break_glass(principal: Principal) -> bool:
    """Whether the person may open a child's history in an emergency (DESIGN §4 point 5)."""
    return bool(principal.roles & BREAK_GLASS_ROLES) and may(principal, Action.read_child_history)


def may(principal: Principal, action: Action) -> bool:
    return decide(principal, action).allowed


def _offered(principal: Principal, rule: Action | Callable[[Principal], bool] | None) -> bool:
    if rule is None:
        return True
    return may(principal, rule) if isinstance(rule, Action) else rule(principal)


async def person_view(session: AsyncSession, person: SignedIn) -> dict[str, Any]:
    described = await auth.describe(session, person.principal)
    organisation = described.get("organisation") or {}
    return {
        # a person the OpenID Connect issuer vouched for has no username here: the issuer's subject
        "username": described.get("username") or person.principal.id.removeprefix("oidc:"),
        "organisation": organisation.get("name"),
        "roles": described.get("roles", []),
        "csrf_token": person.csrf_token,
        "menu": [(href, text) for href, text, rule in MENU if _offered(person.principal, rule)]
        + [(href, text) for href, text, role in ROLE_MENU if role in person.principal.roles],
    }


async def organisation_names(session: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    return await organisations.organisation_names(session, organisation_ids=[i for i in ids if i is not None])


async def alert_organisation_names(
    session: AsyncSession,
    principal: Principal,
    ids: Iterable[uuid.UUID | None],
    *,
    raisers: Iterable[uuid.UUID],
    childs_school: str,
) -> dict[uuid.UUID, str]:
    """The organisations on alerts, by name; but police are not told where a child is at school
    (DESIGN §4 point 2), so for them a school that did not raise the alert — the child's school a
    `found_out_of_school` alert went to — is `childs_school`, not its name."""
    names = await organisation_names(session, ids)
    if principal.organisation_kind is not OrganisationKind.police:
        return names
    hidden = await organisations.schools_among(session, organisation_ids=list(names)) - set(raisers)
    return {i: childs_school if i in hidden else name for i, name in names.items()}


async def children_known(
    session: AsyncSession, principal: Principal, child_ids: Iterable[uuid.UUID], today: date
) -> dict[uuid.UUID, ChildRead]:
    """The children of a list the person may read (a refused one is left out, its refusal audited)."""
    known: dict[uuid.UUID, ChildRead] = {}
    for child_id in dict.fromkeys(child_ids):
        found = await attempt(
            session, partial(children.read, session, actor=principal, child_id=child_id, purpose=None, today=today)
        )
        if not isinstance(found, Problem):
            known[child_id] = found
    return known
