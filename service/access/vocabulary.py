"""The words of the access model: organisation kinds, roles, purposes of use and actions.

Which role may sit in which kind of organisation, which purposes it may declare and which
actions it may attempt are data here, consulted only by the policy in `policy.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class OrganisationKind(StrEnum):
    school = "school"
    child_protection = "child_protection"
    police = "police"
    municipality = "municipality"
    service_provider = "service_provider"
    education_authority = "education_authority"
    juvenile_commission = "juvenile_commission"


class Role(StrEnum):
    school_staff = "school_staff"
    school_admin = "school_admin"
    cp_officer = "cp_officer"
    police_officer = "police_officer"
    municipal_coordinator = "municipal_coordinator"
    provider_worker = "provider_worker"
    education_officer = "education_officer"
    commission_officer = "commission_officer"
    auditor = "auditor"
    admin = "admin"


ALL_KINDS = frozenset(OrganisationKind)

#: Kinds of organisation in which a role may be held. `admin` is platform-wide (no organisation).
#: The education authority takes part in the joint enrolment teams, so it may hold coordinators.
ROLE_KINDS: dict[Role, frozenset[OrganisationKind]] = {
    Role.school_staff: frozenset({OrganisationKind.school}),
    Role.school_admin: frozenset({OrganisationKind.school}),
    Role.cp_officer: frozenset({OrganisationKind.child_protection}),
    Role.police_officer: frozenset({OrganisationKind.police}),
    Role.municipal_coordinator: frozenset(
        {OrganisationKind.municipality, OrganisationKind.education_authority}
    ),
    Role.provider_worker: frozenset({OrganisationKind.service_provider}),
    Role.education_officer: frozenset({OrganisationKind.education_authority}),
    Role.commission_officer: frozenset({OrganisationKind.juvenile_commission}),
    Role.auditor: ALL_KINDS,
    Role.admin: frozenset(),
}


#: Roles held alone (separation of duties, DESIGN §2): whoever reviews the audit trail or runs
#: the platform reads no child data, so a principal with one of these holds no other role.
HELD_ALONE = frozenset({Role.auditor, Role.admin})


def mixes_duties(roles: Iterable[Role]) -> bool:
    """Whether `roles` hold `auditor` or `admin` together with any other role."""
    distinct = set(roles)
    return len(distinct) > 1 and bool(distinct & HELD_ALONE)


def role_allowed_in(role: Role, kind: OrganisationKind | None) -> bool:
    """Whether `role` may be held in an organisation of `kind` (None: no organisation)."""
    if role is Role.admin:
        return kind is None
    return kind is not None and kind in ROLE_KINDS[role]


class Purpose(StrEnum):
    enrolment_followup = "enrolment_followup"
    child_protection = "child_protection"
    law_enforcement = "law_enforcement"
    support_services = "support_services"
    audit = "audit"
    emergency = "emergency"


#: Purposes each role may declare in `X-Purpose-Of-Use`; the first is the default.
ROLE_PURPOSES: dict[Role, tuple[Purpose, ...]] = {
    Role.school_staff: (Purpose.enrolment_followup,),
    Role.school_admin: (Purpose.enrolment_followup,),
    Role.cp_officer: (Purpose.child_protection, Purpose.enrolment_followup, Purpose.emergency),
    Role.police_officer: (Purpose.law_enforcement, Purpose.emergency),
    Role.municipal_coordinator: (Purpose.enrolment_followup,),
    Role.provider_worker: (Purpose.support_services,),
    Role.education_officer: (Purpose.enrolment_followup,),
    Role.commission_officer: (Purpose.child_protection, Purpose.enrolment_followup),
    Role.auditor: (Purpose.audit,),
    Role.admin: (),
}


class Action(StrEnum):
    read_self = "self.read"
    manage_organisations = "organisations.manage"
    manage_users = "users.manage"
    manage_clients = "clients.manage"
    manage_rules = "rules.manage"
    register_child = "child.register"
    lookup_child = "child.lookup"
    ask_known_to_cp = "child.known_to_cp"
    read_child = "child.read"
    read_child_history = "child.history.read"
    manage_enrolments = "enrolment.manage"
    import_roster = "enrolment.roster"
    register_provisional_child = "child.provisional.register"
    merge_children = "child.merge"
    create_alert = "alert.create"
    read_alert = "alert.read"
    respond_to_alert = "alert.respond"
    read_inbox = "inbox.read"
    submit_absences = "absences.submit"
    manage_consents = "consent.manage"
    manage_webhooks = "webhooks.manage"
    read_audit = "audit.read"
    read_reports = "reports.read"
    manage_teams = "teams.manage"
    assign_alert = "alert.assign"
    import_worklist = "worklist.import"
    answer_follow_up = "alert.follow_up.answer"


_ANY = frozenset(Role)
_CASEWORKERS = frozenset(
    {Role.cp_officer, Role.police_officer, Role.municipal_coordinator, Role.provider_worker, Role.education_officer}
)
#: who leads the enrolment mechanism: the municipality's coordinators and the regional education office
ENROLMENT_LEADS = frozenset({Role.municipal_coordinator, Role.education_officer})
_SCHOOL = frozenset({Role.school_staff, Role.school_admin})
#: the juvenile commission works only what police and child protection referred to it
_COMMISSION = frozenset({Role.commission_officer})

#: Function-level rules: which roles may attempt an action at all.
ACTION_ROLES: dict[Action, frozenset[Role]] = {
    Action.read_self: _ANY,
    Action.manage_organisations: frozenset({Role.admin}),
    Action.manage_users: frozenset({Role.admin}),
    Action.manage_clients: frozenset({Role.admin}),
    Action.manage_rules: frozenset({Role.admin}),
    Action.register_child: frozenset(
        {Role.school_admin, Role.cp_officer, Role.municipal_coordinator}
    ),
    # police: children of the municipalities the unit serves, identity only (object rule)
    Action.lookup_child: frozenset(
        {Role.school_admin, Role.school_staff, Role.cp_officer, Role.municipal_coordinator, Role.police_officer}
    ),
    # DESIGN §4 point 7: a yes or no and whom to call, never details; told to the department
    Action.ask_known_to_cp: _SCHOOL | frozenset({Role.police_officer, Role.commission_officer}),
    Action.read_child: _SCHOOL | _CASEWORKERS | _COMMISSION,
    Action.read_child_history: _SCHOOL | _CASEWORKERS | _COMMISSION,
    Action.manage_enrolments: frozenset({Role.school_admin}),
    # a school's administrator, or its e-diary (a client holding a school role; object rule in children.rosters)
    Action.import_roster: _SCHOOL,
    Action.register_provisional_child: frozenset({Role.cp_officer, Role.municipal_coordinator}),
    Action.merge_children: frozenset({Role.cp_officer, Role.municipal_coordinator}),
    Action.create_alert: _SCHOOL | _CASEWORKERS,
    Action.read_alert: _SCHOOL | _CASEWORKERS | _COMMISSION,
    # a school responds to what is routed to it (`found_out_of_school`: it leads)
    Action.respond_to_alert: _SCHOOL | _CASEWORKERS | _COMMISSION,
    Action.read_inbox: _SCHOOL | _CASEWORKERS | _COMMISSION,
    Action.submit_absences: _SCHOOL,
    Action.manage_consents: frozenset({Role.cp_officer, Role.municipal_coordinator}),
    # the platform admin for any organisation; a school's admin for the school (object rule in delivery)
    Action.manage_webhooks: frozenset({Role.admin, Role.school_admin}),
    Action.read_audit: frozenset({Role.auditor}),
    Action.read_reports: frozenset({Role.municipal_coordinator, Role.education_officer, Role.auditor}),
    Action.manage_teams: ENROLMENT_LEADS,
    # a recipient's own users (object rule: recipients); a team: the enrolment leads
    Action.assign_alert: _CASEWORKERS,
    Action.import_worklist: ENROLMENT_LEADS,
    # the child's school answers whether a returned pupil stayed (object rule: asked recipients)
    Action.answer_follow_up: _SCHOOL,
}

#: What membership of a joint enrolment team lets a member do with the team's cases, whatever
#: the member's role and organisation (DESIGN §2: membership is a relationship, not a role).
#: A member also merges the provisional child of a team case into its PIN record (DESIGN §7), and
#: registers provisional children in the team's area (`relationships.decide_provisional_registration`).
TEAM_ACTIONS = frozenset(
    {Action.read_alert, Action.respond_to_alert, Action.read_child, Action.read_child_history, Action.merge_children}
)
