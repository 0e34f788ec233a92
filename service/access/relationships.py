"""Object-level rules (DESIGN §4 point 2): does the caller's organisation have a relationship
with this child or alert?

Domains gather the facts about a record (`ChildFacts`, `AlertFacts`) and ask here; list queries
take an `AccessScope`, which only `scope_for` hands out after the function-level check, and
translate it into SQL in their repository. No relationship → a 404 decision, so a caller cannot
learn that a child or alert exists.

The relationships:
- a school: its currently enrolled pupils (identity, and raising alerts) and the alerts it raised;
- any recipient organisation: the alerts routed to it, and the identity of their children;
- child protection: children of its municipalities (identity, raising alerts); the whole history
  of those who have an alert routed to it;
- a municipality (coordinators): children of its municipalities, and their alerts of the
  enrolment kinds;
- police: the identity of children of the municipalities the unit serves, by lookup only, with
  purpose `law_enforcement`; raising `found_out_of_school` about them; otherwise only what was
  routed to them;
- service providers and the juvenile commission: only what was routed (referred) to them;
- a member of a joint enrolment team (a user of any organisation): the alerts assigned to the
  team, the identity, address and history of their children, merging such a provisional child
  into its PIN record, and registering provisional children in the team's area (membership is a
  relationship, not a role).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import NewType

from service.access.consent import ConsentFacts, sharing_refusal
from service.access.policy import Decision, decide
from service.access.principal import Principal, PrincipalKind
from service.access.vocabulary import ENROLMENT_LEADS, TEAM_ACTIONS, Action, OrganisationKind, Purpose, Role

#: Alert types the municipal enrolment teams follow up in their municipality.
ENROLMENT_ALERT_TYPES = frozenset(
    {"unexcused_absences", "dropout_risk", "not_enrolled", "left_education", "whereabouts_unknown"}
)
#: Alert types a police unit raises about any child of its municipalities, related or not.
POLICE_RAISES_IN_AREA = frozenset({"found_out_of_school"})
_JURISDICTION_KINDS = frozenset(
    {OrganisationKind.child_protection, OrganisationKind.municipality, OrganisationKind.education_authority,
     OrganisationKind.police}
)


@dataclass(frozen=True, slots=True)
class ChildFacts:
    child_id: uuid.UUID
    municipality_code: str | None
    #: schools where the child is enrolled now
    enrolled_at: frozenset[uuid.UUID]
    #: organisations that some alert about the child was routed to
    routed_to: frozenset[uuid.UUID]
    #: organisations that raised an alert about the child
    raised_by: frozenset[uuid.UUID]
    #: municipalities with an open or closed alert of an enrolment kind about the child
    enrolment_alert_municipalities: frozenset[str]
    #: organisations that a `whereabouts_unknown` alert about the child was routed to
    whereabouts_routed_to: frozenset[uuid.UUID] = frozenset()
    #: principal ids of the members of teams that an alert about the child is assigned to
    team_members: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class AlertFacts:
    alert_id: uuid.UUID
    child_id: uuid.UUID
    type: str
    municipality_code: str
    legal_basis: str
    source_organisation_id: uuid.UUID
    recipients: frozenset[uuid.UUID]
    #: organisations that any alert about the same child was routed to
    child_routed_to: frozenset[uuid.UUID]
    #: recipients that received the alert under a guardian's consent, with that consent
    consents: Mapping[uuid.UUID, ConsentFacts] = field(default_factory=dict)
    #: principal ids of the members of the team the alert is assigned to
    team_members: frozenset[str] = frozenset()


_AccessScopeToken = NewType("_AccessScopeToken", object)
_TOKEN = _AccessScopeToken(object())


@dataclass(frozen=True, slots=True)
class AccessScope:
    """What a principal's organisation may see, for list queries. Made only by `scope_for`."""

    organisation_id: uuid.UUID
    kind: OrganisationKind
    municipality_codes: frozenset[str]
    roles: frozenset[Role]
    #: the day consent validity is judged on
    today: date
    _token: object
    #: the signed-in person, whose teams' cases are in scope too (None: a system account)
    user_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if self._token is not _TOKEN:
            raise TypeError("AccessScope is made by service.access.relationships.scope_for")

    @property
    def follows_child_protection_history(self) -> bool:
        return self.kind is OrganisationKind.child_protection

    @property
    def follows_enrolment_alerts(self) -> bool:
        return bool(self.roles & ENROLMENT_LEADS)


def scope_for(principal: Principal, decision: Decision, today: date) -> AccessScope:
    """The list scope of an allowed function-level decision; principals without an
    organisation have no child-data scope at all."""
    if not decision.allowed or principal.organisation_id is None or principal.organisation_kind is None:
        raise ValueError("no scope without an allowed decision and an organisation")
    return AccessScope(
        principal.organisation_id, principal.organisation_kind, principal.municipality_codes,
        principal.roles, today, _TOKEN, user_id=user_id_of(principal),
    )


def user_id_of(principal: Principal) -> uuid.UUID | None:
    """The user behind a principal that is a person signed in with this service's tokens (only
    they can be put on a team)."""
    if principal.kind is not PrincipalKind.user:
        return None
    try:
        return uuid.UUID(principal.id)
    except ValueError:
        return None


def _as_team_member(principal: Principal, action: Action, members: frozenset[str], purpose: Purpose | None) -> (
    Decision | None
):
    """The decision for a member of the team a case is assigned to, whatever the member's role
    may do otherwise (DESIGN §2); None when the principal is no member or the action is not one
    a team does. The purpose is still one the member's role may declare."""
    if action not in TEAM_ACTIONS or principal.id not in members or user_id_of(principal) is None:
        return None
    purpose = purpose or principal.default_purpose
    if purpose is None or purpose not in principal.allowed_purposes:
        return Decision(allowed=False, action=action, reason="purpose not allowed for role", purpose=purpose)
    return Decision(allowed=True, action=action, reason="member of the team the case is assigned to",
        purpose=purpose, basis="public_task")


def _basis_for(principal: Principal) -> str:
    if Role.cp_officer in principal.roles or principal.organisation_kind is OrganisationKind.school:
        return "legal_obligation"
    return "public_task"


def _allow(base: Decision, reason: str, basis: str) -> Decision:
    return Decision(allowed=True, action=base.action, reason=reason, purpose=base.purpose, basis=basis)


def _hide(base: Decision, reason: str) -> Decision:
    return Decision(allowed=False, action=base.action, reason=reason, purpose=base.purpose, deny_status=404)


def decide_child(
    principal: Principal, action: Action, facts: ChildFacts, *, purpose: Purpose | None,
    alert_type: str | None = None,
) -> Decision:
    """Reading a child's identity or history, looking it up, or raising an alert (of
    `alert_type`) about it."""
    as_member = _as_team_member(principal, action, facts.team_members, purpose)
    if as_member is not None:
        return as_member
    base = decide(principal, action, purpose=purpose)
    if not base.allowed:
        return base
    org = principal.organisation_id
    kind = principal.organisation_kind
    if org is None:
        return _hide(base, "no organisation")
    in_jurisdiction = (
        kind in _JURISDICTION_KINDS
        and facts.municipality_code is not None
        and facts.municipality_code in principal.municipality_codes
    )
    enrolled = org in facts.enrolled_at
    routed = org in facts.routed_to
    basis = _basis_for(principal)

    if action is Action.create_alert:
        if kind is OrganisationKind.school:
            ok, why = enrolled, "pupil currently enrolled at the school"
        elif kind is OrganisationKind.police and alert_type in POLICE_RAISES_IN_AREA and in_jurisdiction:
            ok, why = True, "child in the police unit's municipalities"
        elif kind in (OrganisationKind.service_provider, OrganisationKind.police, OrganisationKind.juvenile_commission):
            ok, why = routed, "an alert about the child was routed to the organisation"
        else:
            ok, why = in_jurisdiction, "child in the organisation's municipalities"
        return _allow(base, why, basis) if ok else _hide(base, "no relationship with the child")

    if action is Action.read_child_history:
        if kind is OrganisationKind.school:
            ok = enrolled or org in facts.raised_by
        elif kind is OrganisationKind.child_protection:
            ok = in_jurisdiction and routed
        elif principal.roles & ENROLMENT_LEADS:
            ok = routed or bool(facts.enrolment_alert_municipalities & principal.municipality_codes)
        else:
            ok = routed
        return (
            _allow(base, "case relationship with the child", basis)
            if ok else _hide(base, "no case relationship with the child")
        )

    # identity: read and lookup
    if kind is OrganisationKind.police and action is Action.lookup_child:
        if base.purpose is not Purpose.law_enforcement:
            return Decision(
                allowed=False, action=base.action, reason="police look children up for law enforcement",
                purpose=base.purpose,
            )
        ok = in_jurisdiction or routed
    elif kind is OrganisationKind.school:
        ok = enrolled
    elif kind in (OrganisationKind.child_protection, OrganisationKind.municipality,
                  OrganisationKind.education_authority):
        ok = in_jurisdiction or routed
    else:
        ok = routed
    return _allow(base, "relationship with the child", basis) if ok else _hide(base, "no relationship with the child")


def may_see_address(principal: Principal, facts: ChildFacts) -> bool:
    """Whether a caller already allowed the child's identity also sees its street address
    (DESIGN §3): child protection, police on a `whereabouts_unknown` alert routed to them, and
    members of a team that a case of the child is assigned to (they are the ones who visit)."""
    kind = principal.organisation_kind
    if kind is OrganisationKind.child_protection and Role.cp_officer in principal.roles:
        return True
    if principal.id in facts.team_members and user_id_of(principal) is not None:
        return True
    return (
        kind is OrganisationKind.police
        and Role.police_officer in principal.roles
        and principal.organisation_id in facts.whereabouts_routed_to
    )


def decide_provisional_registration(
    principal: Principal, municipality_code: str | None, *, member_of_covering_team: bool, purpose: Purpose | None
) -> Decision:
    """Registering a child met in the field whose PIN is not known (DESIGN §7): child protection
    and coordinators in the municipalities their organisation serves; a member of a joint
    enrolment team whose area covers the child's settlement, whatever the member's role."""
    base = decide(principal, Action.register_provisional_child, purpose=purpose)
    if base.allowed and municipality_code is not None and municipality_code in principal.municipality_codes:
        return _allow(base, "settlement in the organisation's municipalities", "public_task")
    if member_of_covering_team and user_id_of(principal) is not None:
        member_purpose = purpose or principal.default_purpose
        if member_purpose is not None and member_purpose in principal.allowed_purposes:
            return Decision(allowed=True, action=base.action, reason="member of a team covering the settlement",
                            purpose=member_purpose, basis="public_task")
    if not base.allowed:
        return base
    return Decision(allowed=False, action=base.action, reason="settlement outside the organisation's municipalities",
                    purpose=base.purpose)


def decide_alert(
    principal: Principal, action: Action, facts: AlertFacts, *, purpose: Purpose | None, today: date
) -> Decision:
    """Reading an alert, or responding to it (acknowledge, record an action, close).

    An organisation that received the alert under a guardian's consent keeps it only while the
    consent is active: after withdrawal or expiry the alert is hidden, and the audited reason
    says why. A member of the team the alert is assigned to reads and works it whatever the
    member's organisation."""
    as_member = _as_team_member(principal, action, facts.team_members, purpose)
    if as_member is not None:
        return Decision(allowed=as_member.allowed, action=as_member.action, reason=as_member.reason,
            purpose=as_member.purpose,
                        basis=facts.legal_basis if as_member.allowed else None)
    base = decide(principal, action, purpose=purpose)
    if not base.allowed:
        return base
    org = principal.organisation_id
    if org is None:
        return _hide(base, "no organisation")
    recipient = org in facts.recipients
    consent = facts.consents.get(org)
    if recipient and consent is not None:
        refusal = sharing_refusal(
            consent, child_id=facts.child_id, recipient=org, purpose=None,
            today=today,
        )
        if refusal is not None and org == facts.source_organisation_id:
            # no longer a recipient, but still the organisation that raised it: it reads the
            # alert as its raiser (§4 point 6) and no longer responds to it
            if action is Action.respond_to_alert:
                return Decision(
                    allowed=False, action=base.action,
                    reason=f"{refusal}; only recipient organisations respond to an alert", purpose=base.purpose,)
            return _allow(base, f"raised the alert ({refusal})", facts.legal_basis)
        if refusal is not None:
            return Decision(
                allowed=False, action=base.action, reason=refusal, purpose=base.purpose, basis="consent",
                consent_id=consent.consent_id, deny_status=404,)
        return Decision(
            allowed=True, action=base.action, reason="recipient under consent", purpose=base.purpose, basis="consent",
            consent_id=consent.consent_id,)
    visible = (
        recipient
        or org == facts.source_organisation_id
        or (
            principal.organisation_kind is OrganisationKind.child_protection
            and facts.municipality_code in principal.municipality_codes
            and org in facts.child_routed_to
        )
        or _leads_enrolment_in(principal, facts)
    )
    if not visible:
        return _hide(base, "no relationship with the alert")
    if action is Action.respond_to_alert and not recipient:
        return Decision(
            allowed=False, action=base.action, reason="only recipient organisations respond to an alert",
            purpose=base.purpose,)
    if action is Action.answer_follow_up and not recipient:
        return Decision(
            allowed=False, action=base.action, reason="the follow-up is asked of the child's school",
            purpose=base.purpose,)
    return _allow(base, "recipient" if recipient else "relationship with the alert", facts.legal_basis)


def _leads_enrolment_in(principal: Principal, facts: AlertFacts) -> bool:
    """A coordinator or regional education officer follows the enrolment-kind alerts of the
    municipalities its organisation serves."""
    return (
        bool(principal.roles & ENROLMENT_LEADS)
        and facts.type in ENROLMENT_ALERT_TYPES
        and facts.municipality_code in principal.municipality_codes
    )


def decide_assignment(
    principal: Principal, facts: AlertFacts, *, purpose: Purpose | None, today: date,
    team_municipality: str | None = None, assignee_organisation: uuid.UUID | None = None,
) -> Decision:
    """Assigning an alert (DESIGN §3 Assignment): a recipient organisation's part to one of its
    own users; an enrolment-kind alert to a team of the alert's municipality, by a municipality
    or education authority whose coordinators or education officers follow it there."""
    base = decide_alert(principal, Action.assign_alert, facts, purpose=purpose, today=today)
    if not base.allowed:
        return base
    org = principal.organisation_id
    if team_municipality is not None:
        if not _leads_enrolment_in(principal, facts) or principal.organisation_kind not in (
            OrganisationKind.municipality, OrganisationKind.education_authority
        ):
            return Decision(allowed=False, action=base.action,
                reason="only the enrolment leads of the alert's municipality assign teams",
                            purpose=base.purpose)
        if team_municipality != facts.municipality_code:
            return Decision(allowed=False, action=base.action,
                reason="the team does not cover the alert's municipality", purpose=base.purpose)
        return _allow(base, "enrolment lead assigns the case to a team", facts.legal_basis)
    if org is None or org not in facts.recipients:
        return Decision(allowed=False, action=base.action,
            reason="only recipient organisations assign their part", purpose=base.purpose)
    if assignee_organisation != org:
        return Decision(allowed=False, action=base.action,
            reason="a recipient assigns its part to its own users", purpose=base.purpose)
    return _allow(base, "recipient assigns its part to its own user", facts.legal_basis)


def decide_team_management(principal: Principal, municipality_code: str, *, purpose: Purpose | None) -> Decision:
    """Creating a team or changing its members: the coordinators and education officers of an
    organisation that serves the team's municipality."""
    base = decide(principal, Action.manage_teams, purpose=purpose)
    if not base.allowed:
        return base
    if municipality_code in principal.municipality_codes:
        return _allow(base, "team of a municipality the organisation serves", "public_task")
    return _hide(base, "team of a municipality the organisation does not serve")


#: who reads an aggregate report for the municipalities its organisation serves (an auditor: any)
SUMMARY_READERS = frozenset({Role.municipal_coordinator})
MECHANISM_READERS = ENROLMENT_LEADS


def _report_reach(
    principal: Principal, readers: frozenset[Role], *, purpose: Purpose | None
) -> tuple[Decision, frozenset[str] | None]:
    """The function-level decision on reading reports and the municipalities it reaches: None for
    any (an auditor auditing), the organisation's own for a reader role, none for anyone else."""
    base = decide(principal, Action.read_reports, purpose=purpose)
    if not base.allowed:
        return base, frozenset()
    if Role.auditor in principal.roles and base.purpose is Purpose.audit:
        return base, None
    if principal.roles & readers:
        return base, principal.municipality_codes
    return base, frozenset()


def reads_some_report(principal: Principal, readers: frozenset[Role], *, purpose: Purpose | None = None) -> bool:
    """Whether the report of `readers` (SUMMARY_READERS, MECHANISM_READERS) is open to the
    principal for at least one municipality: what the console's menu offers."""
    base, reach = _report_reach(principal, readers, purpose=purpose)
    return base.allowed and (reach is None or bool(reach))


def decide_mechanism_report(
    principal: Principal, municipality_codes: frozenset[str], *, purpose: Purpose | None
) -> Decision:
    """Reading the national mechanism's counts: an education officer for its region, a
    coordinator for its municipality, an auditor for any (DESIGN §7). Asking for a municipality
    the organisation does not serve is a 403 (a municipality's existence is no secret)."""
    base, reach = _report_reach(principal, MECHANISM_READERS, purpose=purpose)
    if not base.allowed:
        return base
    if reach is None:
        return _allow(base, "auditor may read any municipality's mechanism report", "legal_obligation")
    if municipality_codes and municipality_codes <= reach:
        return _allow(base, "municipalities served by the organisation", "public_task")
    return Decision(allowed=False, action=base.action, reason="municipality not served by the organisation",
        purpose=base.purpose)


#: Break-glass (DESIGN §4 point 5): who may read any child's history in an emergency.
BREAK_GLASS_ROLES = frozenset({Role.cp_officer, Role.police_officer})
MIN_BREAK_GLASS_REASON = 20


def decide_break_glass(principal: Principal, reason: str) -> Decision:
    """Emergency access to a child's history without a relationship: allowed for child
    protection and police officers, always marked, audited and queued for review."""
    base = decide(principal, Action.read_child_history, purpose=Purpose.emergency)
    if not base.allowed:
        return base
    if not principal.roles & BREAK_GLASS_ROLES:
        return Decision(
            allowed=False, action=base.action, reason="break-glass is for child protection and police officers",
            purpose=base.purpose,)
    return Decision(
        allowed=True, action=base.action, reason="break-glass emergency access", purpose=Purpose.emergency,
        basis=_basis_for(principal), break_glass=True, break_glass_reason=reason,)


def decide_municipal_report(
    principal: Principal, municipality_code: str, *, purpose: Purpose | None
) -> Decision:
    """Reading a municipality's aggregate report: a municipal coordinator only for the
    municipalities its organisation serves (another one is a 403: the municipality's existence
    is no secret), an auditor for any."""
    base, reach = _report_reach(principal, SUMMARY_READERS, purpose=purpose)
    if not base.allowed:
        return base
    if reach is None:
        return _allow(base, "auditor may read any municipality's report", "legal_obligation")
    if municipality_code in reach:
        return _allow(base, "municipality served by the organisation", "public_task")
    return Decision(
        allowed=False, action=base.action, reason="municipality not served by the organisation", purpose=base.purpose,)
