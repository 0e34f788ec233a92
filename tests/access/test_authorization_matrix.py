"""The authorization matrix of the core exchange: every endpoint × every role × the caller's
relationship with the record → the expected answer. One test per cell, so a leak (an unrelated
caller answered 200) or a wrongful refusal names its cell: `role-relationship-endpoint-expected`.

The scenario (built afresh for every cell; the database is rolled back after each test):

- a Koprinka pupil (school-koprinka, municipality SZR12 Казанлък), and an `unexcused_absences`
  alert about it raised by school-koprinka.staff, which routes to cp-kazanlak (lead) and
  mun-kazanlak: "the alert" of the matrix.

The caller of each role, by relationship:

| role                  | related                                  | same municipality, unrelated      | another municipality   |
|-----------------------|------------------------------------------|-----------------------------------|------------------------|
| school_staff          | school-koprinka.staff (the pupil's school, raised the alert) | school-kazanlak.staff | school-lukovit-1.staff |
| school_admin          | school-koprinka.admin                    | school-kazanlak.admin             | school-lukovit-1.admin |
| cp_officer            | cp-kazanlak.cp (lead recipient)          | cp-kazanlak-2.cp (a second child protection department serving SZR12, registered after the alert: nothing routed to it) | cp-lukovit.cp |
| police_officer        | police-kazanlak.police, after mun-kazanlak raised a `whereabouts_unknown` alert that routes to it — *that* alert is the one it calls on | police-kazanlak.police (nothing routed to it) | police-lukovit.police |
| municipal_coordinator | mun-kazanlak.municipal (recipient)       | rue-stara-zagora.coordinator (the demo's regional education office serving SZR12; a coordinator, not a recipient) | mun-lukovit.municipal |
| provider_worker       | provider-kazanlak.provider, after cp-kazanlak recorded the guardian's consent and referred the alert to it | provider-kazanlak.provider (nothing shared) | cop-lukovit.provider |
| commission_officer    | mkbppmn-kazanlak.commission, after cp-kazanlak referred the alert to the juvenile commission | mkbppmn-kazanlak-2.commission (a second commission serving SZR12, nothing referred to it) | mkbppmn-lukovit.commission |
| auditor               | cp-kazanlak.auditor (an auditor in the recipient department) | police-kazanlak.auditor | rue-lovech.auditor |
| admin                 | platform.admin belongs to no organisation, so it has one column: `platform` |      |                        |

Expectations are derived from DESIGN §4 and the rules of service/access/relationships.py, not
from what the service answers: a role that may not attempt the action at all → 403; no
relationship with the record → 404, indistinguishable from a record that does not exist;
otherwise 200/201. For lists and the inbox, `listed` / `not_listed` mean a 200 whose items do /
do not contain the alert (and `not_listed` also: nothing about the child at all).

For every denied cell the test also checks that exactly one `deny` audit event was written, and
that the answer names neither the child nor the alert (for a 404 also: that it is the very same
answer as for a record that does not exist).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from service.audit.models import AuditEvent
from service.core.clock import local_today
from service.demo.loader import DEFAULT_DEMO_FILE
from tests.children.helpers import egn_for

PUPIL_PIN = "1152035081"  # a Koprinka pupil (Казанлък), grade 9
_PUPIL = next(c for c in json.loads(DEFAULT_DEMO_FILE.read_text(encoding="utf-8"))["children"] if c["pin"] == PUPIL_PIN)
NEW_PIN = egn_for(date(2016, 5, 14), serial=731)  # nobody's: registering it creates a child
UNKNOWN_PIN = egn_for(date(2015, 3, 3), serial=917)  # nobody's: a lookup finds nothing
PASSWORD = "matrix-user-password-2026"
KOPRINKA = "38488"  # EKATTE code of Копринка (SZR12), in the demo classifier

RELATED, SAME, OTHER, PLATFORM = "related", "same_municipality", "another_municipality", "platform"
LISTED, NOT_LISTED = "listed", "not_listed"

# ---------------------------------------------------------------------------------------------
# Who calls, for each (role, relationship). `setup` names what the scenario does first to give
# the caller its relationship; `org` is an organisation the scenario registers for the caller.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    username: str
    setup: str | None = None  # "whereabouts" | "referral" | "commission" | "user"
    org: tuple[str, str, str] | None = None  # (code, kind, name) of an organisation to register
    role: str | None = None  # the role of a user the scenario creates
    municipality: str = "SZR12"  # the municipality that organisation serves


CALLERS: dict[tuple[str, str], Caller] = {
    ("school_staff", RELATED): Caller("school-koprinka.staff"),
    ("school_staff", SAME): Caller("school-kazanlak.staff"),
    ("school_staff", OTHER): Caller("school-lukovit-1.staff"),
    ("school_admin", RELATED): Caller("school-koprinka.admin"),
    ("school_admin", SAME): Caller("school-kazanlak.admin"),
    ("school_admin", OTHER): Caller("school-lukovit-1.admin"),
    ("cp_officer", RELATED): Caller("cp-kazanlak.cp"),
    ("cp_officer", SAME): Caller(
        "cp-kazanlak-2.cp", "user",
        ("cp-kazanlak-2", "child_protection", "Втори отдел „Закрила на детето“, Казанлък (фиктивен)"),
        "cp_officer",
    ),
    ("cp_officer", OTHER): Caller("cp-lukovit.cp"),
    ("police_officer", RELATED): Caller("police-kazanlak.police", "whereabouts"),
    ("police_officer", SAME): Caller("police-kazanlak.police"),
    ("police_officer", OTHER): Caller("police-lukovit.police"),
    ("municipal_coordinator", RELATED): Caller("mun-kazanlak.municipal"),
    ("municipal_coordinator", SAME): Caller(
        "rue-stara-zagora.coordinator", "user", None, "municipal_coordinator",
    ),
    ("municipal_coordinator", OTHER): Caller("mun-lukovit.municipal"),
    ("provider_worker", RELATED): Caller("provider-kazanlak.provider", "referral"),
    ("provider_worker", SAME): Caller("provider-kazanlak.provider"),
    ("provider_worker", OTHER): Caller("cop-lukovit.provider"),
    ("commission_officer", RELATED): Caller("mkbppmn-kazanlak.commission", "commission"),
    ("commission_officer", SAME): Caller(
        "mkbppmn-kazanlak-2.commission", "user",
        ("mkbppmn-kazanlak-2", "juvenile_commission", "Втора МКБППМН, Казанлък (фиктивна)"), "commission_officer",
    ),
    ("commission_officer", OTHER): Caller(
        "mkbppmn-lukovit.commission", "user",
        ("mkbppmn-lukovit", "juvenile_commission", "МКБППМН Луковит (фиктивна)"), "commission_officer", "LOV19",
    ),
    ("auditor", RELATED): Caller("cp-kazanlak.auditor", "user", None, "auditor"),
    ("auditor", SAME): Caller("police-kazanlak.auditor", "user", None, "auditor"),
    ("auditor", OTHER): Caller("rue-lovech.auditor"),
    ("admin", PLATFORM): Caller("platform.admin"),
}

# ---------------------------------------------------------------------------------------------
# THE EXPECTATIONS. One row per (endpoint, role): related, same municipality, another municipality.
# ---------------------------------------------------------------------------------------------

REGISTER_NEW = "POST /children (new PIN)"
REGISTER_KNOWN = "POST /children (known PIN)"
LOOKUP = "POST /children/lookup"
READ_CHILD = "GET /children/{id}"
HISTORY = "GET /children/{id}/history"
ENROL = "POST /enrolments"
END_ENROLMENT = "PATCH /enrolments/{id}"
RELEASE = "POST /enrolments/{id}/release"
RAISE = "POST /alerts"
LIST = "GET /alerts"
READ_ALERT = "GET /alerts/{id}"
ACKNOWLEDGE = "POST /alerts/{id}/acknowledge"
ACTIONS = "POST /alerts/{id}/actions"
CLOSE = "POST /alerts/{id}/close"
INBOX = "GET /inbox"
READ_NOTICES = "GET /me/notifications"
SET_NOTICES = "PUT /me/notifications"
READ_RULES = "GET /routing-rules"
REPLACE_RULES = "PUT /routing-rules"
ROSTER = "POST /enrolments/batch"
PROVISIONAL = "POST /children/provisional"
MERGE = "POST /children/{id}/merge"
KNOWN_TO_CP = "POST /children/known-to-cp"

MATRIX: list[tuple[str, str, Any, Any, Any]] = [
    # endpoint      role                     related     same mun.   another mun.
    # -- register: school_admin, cp_officer, municipal_coordinator (DESIGN §7); no relationship
    #    exists with a child nobody registered yet
    (REGISTER_NEW, "school_staff",          403,        403,        403),
    (REGISTER_NEW, "school_admin",          201,        201,        201),
    (REGISTER_NEW, "cp_officer",            201,        201,        201),
    (REGISTER_NEW, "police_officer",        403,        403,        403),
    (REGISTER_NEW, "municipal_coordinator", 201,        201,        201),
    (REGISTER_NEW, "provider_worker",       403,        403,        403),
    (REGISTER_NEW, "commission_officer",    403,        403,        403),
    (REGISTER_NEW, "auditor",               403,        403,        403),
    # -- a known PIN "returns the existing child" (DESIGN §3) to whoever may register; see
    #    test_matching_a_known_pin_discloses_nothing_to_an_unrelated_registrant for what it may show
    (REGISTER_KNOWN, "school_staff",        403,        403,        403),
    (REGISTER_KNOWN, "school_admin",        200,        200,        200),
    (REGISTER_KNOWN, "cp_officer",          200,        200,        200),
    (REGISTER_KNOWN, "police_officer",      403,        403,        403),
    (REGISTER_KNOWN, "municipal_coordinator", 200,      200,        200),
    (REGISTER_KNOWN, "provider_worker",     403,        403,        403),
    (REGISTER_KNOWN, "commission_officer",  403,        403,        403),
    (REGISTER_KNOWN, "auditor",             403,        403,        403),
    # -- lookup: register roles, school_staff and police; identity rule: school = enrolled; cp,
    #    municipality/education authority and police (identity only, law_enforcement) = child
    #    of its municipalities, or routed to it
    (LOOKUP, "school_staff",                200,        404,        404),
    (LOOKUP, "school_admin",                200,        404,        404),
    (LOOKUP, "cp_officer",                  200,        200,        404),
    (LOOKUP, "police_officer",              200,        200,        404),
    (LOOKUP, "municipal_coordinator",       200,        200,        404),
    (LOOKUP, "provider_worker",             403,        403,        403),
    (LOOKUP, "commission_officer",          403,        403,        403),
    (LOOKUP, "auditor",                     403,        403,        403),
    # -- identity: as lookup; police and providers only when something was routed to them
    (READ_CHILD, "school_staff",            200,        404,        404),
    (READ_CHILD, "school_admin",            200,        404,        404),
    (READ_CHILD, "cp_officer",              200,        200,        404),
    (READ_CHILD, "police_officer",          200,        404,        404),
    (READ_CHILD, "municipal_coordinator",   200,        200,        404),
    (READ_CHILD, "provider_worker",         200,        404,        404),
    (READ_CHILD, "commission_officer",      200,        404,        404),
    (READ_CHILD, "auditor",                 403,        403,        403),
    # -- history: school = enrolled or raised; cp = jurisdiction AND an alert routed to it;
    #    coordinator = routed, or an enrolment-kind alert in its municipality; others = routed
    (HISTORY, "school_staff",               200,        404,        404),
    (HISTORY, "school_admin",               200,        404,        404),
    (HISTORY, "cp_officer",                 200,        404,        404),
    (HISTORY, "police_officer",             200,        404,        404),
    (HISTORY, "municipal_coordinator",      200,        200,        404),
    (HISTORY, "provider_worker",            200,        404,        404),
    (HISTORY, "commission_officer",         200,        404,        404),
    (HISTORY, "auditor",                    403,        403,        403),
    # -- enrol the pupil at the caller's own school: school_admin only. The pupil's own school
    #    already has it (422); another school may enrol it only once its school released it
    #    there (DESIGN §3 Enrolment): until then a 409 that names no school and no child
    (ENROL, "school_staff",                 403,        403,        403),
    (ENROL, "school_admin",                 422,        409,        409),
    (ENROL, "cp_officer",                   403,        403,        403),
    (ENROL, "police_officer",               403,        403,        403),
    (ENROL, "municipal_coordinator",        403,        403,        403),
    (ENROL, "provider_worker",              403,        403,        403),
    (ENROL, "commission_officer",           403,        403,        403),
    (ENROL, "auditor",                      403,        403,        403),
    # -- change the pupil's enrolment: only its school's admin
    (END_ENROLMENT, "school_staff",         403,        403,        403),
    (END_ENROLMENT, "school_admin",         200,        404,        404),
    (END_ENROLMENT, "cp_officer",           403,        403,        403),
    (END_ENROLMENT, "police_officer",       403,        403,        403),
    (END_ENROLMENT, "municipal_coordinator", 403,       403,        403),
    (END_ENROLMENT, "provider_worker",      403,        403,        403),
    (END_ENROLMENT, "commission_officer",   403,        403,        403),
    (END_ENROLMENT, "auditor",              403,        403,        403),
    # -- release the pupil (the transfer certificate): only its school's admin
    (RELEASE, "school_staff",               403,        403,        403),
    (RELEASE, "school_admin",               200,        404,        404),
    (RELEASE, "cp_officer",                 403,        403,        403),
    (RELEASE, "police_officer",             403,        403,        403),
    (RELEASE, "municipal_coordinator",      403,        403,        403),
    (RELEASE, "provider_worker",            403,        403,        403),
    (RELEASE, "commission_officer",         403,        403,        403),
    (RELEASE, "auditor",                    403,        403,        403),
    # -- raise an alert about the pupil: school = enrolled; cp and municipality (coordinators)
    #    = child of its municipalities; police and providers "only what was routed to them"
    (RAISE, "school_staff",                 201,        404,        404),
    (RAISE, "school_admin",                 201,        404,        404),
    (RAISE, "cp_officer",                   201,        201,        404),
    (RAISE, "police_officer",               201,        404,        404),
    (RAISE, "municipal_coordinator",        201,        201,        404),
    (RAISE, "provider_worker",              201,        404,        404),
    (RAISE, "commission_officer",           403,        403,        403),
    (RAISE, "auditor",                      403,        403,        403),
    # -- the alert list: raised or received; cp: its jurisdiction's children with an alert
    #    routed to it; coordinators: enrolment-kind alerts of their municipalities
    (LIST, "school_staff",                  LISTED,     NOT_LISTED, NOT_LISTED),
    (LIST, "school_admin",                  LISTED,     NOT_LISTED, NOT_LISTED),
    (LIST, "cp_officer",                    LISTED,     NOT_LISTED, NOT_LISTED),
    (LIST, "police_officer",                LISTED,     NOT_LISTED, NOT_LISTED),
    (LIST, "municipal_coordinator",         LISTED,     LISTED,     NOT_LISTED),
    (LIST, "provider_worker",               LISTED,     NOT_LISTED, NOT_LISTED),
    (LIST, "commission_officer",            LISTED,     NOT_LISTED, NOT_LISTED),
    (LIST, "auditor",                       403,        403,        403),
    # -- one alert: the same relationships as the list
    (READ_ALERT, "school_staff",            200,        404,        404),
    (READ_ALERT, "school_admin",            200,        404,        404),
    (READ_ALERT, "cp_officer",              200,        404,        404),
    (READ_ALERT, "police_officer",          200,        404,        404),
    (READ_ALERT, "municipal_coordinator",   200,        200,        404),
    (READ_ALERT, "provider_worker",         200,        404,        404),
    (READ_ALERT, "commission_officer",      200,        404,        404),
    (READ_ALERT, "auditor",                 403,        403,        403),
    # -- respond: only recipients respond (a school too: it leads `found_out_of_school`): one who
    #    may read the alert but did not receive it is refused (403), one who may not read it gets 404
    (ACKNOWLEDGE, "school_staff",           403,        404,        404),
    (ACKNOWLEDGE, "school_admin",           403,        404,        404),
    (ACKNOWLEDGE, "cp_officer",             200,        404,        404),
    (ACKNOWLEDGE, "police_officer",         200,        404,        404),
    (ACKNOWLEDGE, "municipal_coordinator",  200,        403,        404),
    (ACKNOWLEDGE, "provider_worker",        200,        404,        404),
    (ACKNOWLEDGE, "commission_officer",     200,        404,        404),
    (ACKNOWLEDGE, "auditor",                403,        403,        403),
    (ACTIONS, "school_staff",               403,        404,        404),
    (ACTIONS, "school_admin",               403,        404,        404),
    (ACTIONS, "cp_officer",                 200,        404,        404),
    (ACTIONS, "police_officer",             200,        404,        404),
    (ACTIONS, "municipal_coordinator",      200,        403,        404),
    (ACTIONS, "provider_worker",            200,        404,        404),
    (ACTIONS, "commission_officer",         200,        404,        404),
    (ACTIONS, "auditor",                    403,        403,        403),
    (CLOSE, "school_staff",                 403,        404,        404),
    (CLOSE, "school_admin",                 403,        404,        404),
    (CLOSE, "cp_officer",                   200,        404,        404),
    (CLOSE, "police_officer",               200,        404,        404),
    (CLOSE, "municipal_coordinator",        200,        403,        404),
    (CLOSE, "provider_worker",              200,        404,        404),
    (CLOSE, "commission_officer",           200,        404,        404),
    (CLOSE, "auditor",                      403,        403,        403),
    # -- the inbox: alerts routed to the caller's organisation only (the school raised this one)
    (INBOX, "school_staff",                 NOT_LISTED, NOT_LISTED, NOT_LISTED),
    (INBOX, "school_admin",                 NOT_LISTED, NOT_LISTED, NOT_LISTED),
    (INBOX, "cp_officer",                   LISTED,     NOT_LISTED, NOT_LISTED),
    (INBOX, "police_officer",               LISTED,     NOT_LISTED, NOT_LISTED),
    (INBOX, "municipal_coordinator",        LISTED,     NOT_LISTED, NOT_LISTED),
    (INBOX, "provider_worker",              LISTED,     NOT_LISTED, NOT_LISTED),
    (INBOX, "commission_officer",           LISTED,     NOT_LISTED, NOT_LISTED),
    (INBOX, "auditor",                      403,        403,        403),
    # -- one's own notice preferences: every person (no child data)
    (READ_NOTICES, "school_staff",          200,        200,        200),
    (READ_NOTICES, "school_admin",          200,        200,        200),
    (READ_NOTICES, "cp_officer",            200,        200,        200),
    (READ_NOTICES, "police_officer",        200,        200,        200),
    (READ_NOTICES, "municipal_coordinator", 200,        200,        200),
    (READ_NOTICES, "provider_worker",       200,        200,        200),
    (READ_NOTICES, "commission_officer",    200,        200,        200),
    (READ_NOTICES, "auditor",               200,        200,        200),
    (SET_NOTICES, "school_staff",          200,        200,        200),
    (SET_NOTICES, "school_admin",          200,        200,        200),
    (SET_NOTICES, "cp_officer",            200,        200,        200),
    (SET_NOTICES, "police_officer",        200,        200,        200),
    (SET_NOTICES, "municipal_coordinator", 200,        200,        200),
    (SET_NOTICES, "provider_worker",       200,        200,        200),
    (SET_NOTICES, "commission_officer",    200,        200,        200),
    (SET_NOTICES, "auditor",               200,        200,        200),
    # -- routing rules: the platform admin only
    (READ_RULES, "school_staff",            403,        403,        403),
    (READ_RULES, "school_admin",            403,        403,        403),
    (READ_RULES, "cp_officer",              403,        403,        403),
    (READ_RULES, "police_officer",          403,        403,        403),
    (READ_RULES, "municipal_coordinator",   403,        403,        403),
    (READ_RULES, "provider_worker",         403,        403,        403),
    (READ_RULES, "commission_officer",      403,        403,        403),
    (READ_RULES, "auditor",                 403,        403,        403),
    (REPLACE_RULES, "school_staff",         403,        403,        403),
    (REPLACE_RULES, "school_admin",         403,        403,        403),
    (REPLACE_RULES, "cp_officer",           403,        403,        403),
    (REPLACE_RULES, "police_officer",       403,        403,        403),
    (REPLACE_RULES, "municipal_coordinator", 403,       403,        403),
    (REPLACE_RULES, "provider_worker",      403,        403,        403),
    (REPLACE_RULES, "commission_officer",   403,        403,        403),
    (REPLACE_RULES, "auditor",              403,        403,        403),
    # -- a roster naming the pupil: a school's administrator (or e-diary) for its own school. The
    #    pupil's school matches it (200); another school may not take a pupil that was not
    #    released to it: the roster is refused with a row error (422) naming no school
    (ROSTER, "school_staff",                403,        403,        403),
    (ROSTER, "school_admin",                200,        422,        422),
    (ROSTER, "cp_officer",                  403,        403,        403),
    (ROSTER, "police_officer",              403,        403,        403),
    (ROSTER, "municipal_coordinator",       403,        403,        403),
    (ROSTER, "provider_worker",             403,        403,        403),
    (ROSTER, "commission_officer",          403,        403,        403),
    (ROSTER, "auditor",                     403,        403,        403),
    # -- a provisional child in Копринка (SZR12): child protection and coordinators serving the
    #    settlement's municipality, and members of a team whose area covers Копринка (DESIGN §7:
    #    the Koprinka teacher and police-kazanlak's officer are on team-kazanlak); another
    #    municipality's are refused (403: the settlement's municipality is no secret)
    (PROVISIONAL, "school_staff",           201,        403,        403),
    (PROVISIONAL, "school_admin",           403,        403,        403),
    (PROVISIONAL, "cp_officer",             201,        201,        403),
    (PROVISIONAL, "police_officer",         201,        201,        403),
    (PROVISIONAL, "municipal_coordinator",  201,        201,        403),
    (PROVISIONAL, "provider_worker",        403,        403,        403),
    (PROVISIONAL, "commission_officer",     403,        403,        403),
    (PROVISIONAL, "auditor",                403,        403,        403),
    # -- merge the scenario's provisional child (Копринка) into the pupil's record by its PIN:
    #    child protection and coordinators related to the provisional child (its municipality);
    #    no case of that child is assigned to a team, so team members are refused like anyone
    #    (see test_team_members_merge_the_provisional_child_of_their_case)
    (MERGE, "school_staff",                 403,        403,        403),
    (MERGE, "school_admin",                 403,        403,        403),
    (MERGE, "cp_officer",                   200,        200,        404),
    (MERGE, "police_officer",               403,        403,        403),
    (MERGE, "municipal_coordinator",        200,        200,        404),
    (MERGE, "provider_worker",              403,        403,        403),
    (MERGE, "commission_officer",           403,        403,        403),
    (MERGE, "auditor",                      403,        403,        403),
    # -- known to child protection (DESIGN §4 point 7): police, schools and the commission ask
    #    about any PIN (yes or no and whom to call, told to the department); others may not
    (KNOWN_TO_CP, "school_staff",           200,        200,        200),
    (KNOWN_TO_CP, "school_admin",           200,        200,        200),
    (KNOWN_TO_CP, "cp_officer",             403,        403,        403),
    (KNOWN_TO_CP, "police_officer",         200,        200,        200),
    (KNOWN_TO_CP, "municipal_coordinator",  403,        403,        403),
    (KNOWN_TO_CP, "provider_worker",        403,        403,        403),
    (KNOWN_TO_CP, "commission_officer",     200,        200,        200),
    (KNOWN_TO_CP, "auditor",                403,        403,        403),
]

#: the platform administrator (no organisation, so no relationship to vary): rules, no child data
ADMIN_ROW: list[tuple[str, Any]] = [
    (REGISTER_NEW, 403),
    (REGISTER_KNOWN, 403),
    (LOOKUP, 403),
    (READ_CHILD, 403),
    (HISTORY, 403),
    (ENROL, 403),
    (END_ENROLMENT, 403),
    (RELEASE, 403),
    (RAISE, 403),
    (LIST, 403),
    (READ_ALERT, 403),
    (ACKNOWLEDGE, 403),
    (ACTIONS, 403),
    (CLOSE, 403),
    (INBOX, 403),
    (READ_NOTICES, 200),
    (SET_NOTICES, 200),
    (READ_RULES, 200),
    (REPLACE_RULES, 200),
    (ROSTER, 403),
    (PROVISIONAL, 403),
    (MERGE, 403),
    (KNOWN_TO_CP, 403),
]

ENDPOINTS = [endpoint for endpoint, _ in ADMIN_ROW]
ROLES = ["school_staff", "school_admin", "cp_officer", "police_officer", "municipal_coordinator",
         "provider_worker", "commission_officer", "auditor"]

CASES: list[tuple[str, str, str, Any]] = [
    (role, relationship, endpoint, expected)
    for endpoint, role, *by_relationship in MATRIX
    for relationship, expected in zip((RELATED, SAME, OTHER), by_relationship, strict=True)
] + [("admin", PLATFORM, endpoint, expected) for endpoint, expected in ADMIN_ROW]


def test_the_matrix_has_every_cell_once():
    rows = [(endpoint, role) for endpoint, role, *_ in MATRIX]
    assert len(rows) == len(set(rows)) == len(ENDPOINTS) * len(ROLES)
    assert set(rows) == {(e, r) for e in ENDPOINTS for r in ROLES}
    assert {(role, rel) for role, rel, _, _ in CASES} == set(CALLERS)


ROUTING_RULES = {  # DESIGN §3's defaults
    "items": [
        {"alert_type": "unexcused_absences", "recipient_kinds": ["child_protection", "municipality"],
         "legal_basis": "legal_obligation"},
        {"alert_type": "dropout_risk", "recipient_kinds": ["municipality", "child_protection"],
         "legal_basis": "public_task"},
        {"alert_type": "not_enrolled", "recipient_kinds": ["municipality", "child_protection"],
         "legal_basis": "public_task"},
        {"alert_type": "left_education", "recipient_kinds": ["municipality", "child_protection"],
         "legal_basis": "public_task"},
        {"alert_type": "whereabouts_unknown", "recipient_kinds": ["police", "municipality"],
         "legal_basis": "public_task"},
        {"alert_type": "abuse_or_neglect_suspected", "recipient_kinds": ["child_protection", "police"],
         "legal_basis": "legal_obligation", "forced_severity": "urgent"},
        {"alert_type": "support_needed", "recipient_kinds": ["service_provider"], "legal_basis": "consent"},
        {"alert_type": "found_out_of_school", "recipient_kinds": ["school", "child_protection"],
         "legal_basis": "public_task"},
    ]
}


# ---------------------------------------------------------------------------------------------
# The scenario
# ---------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A caller ready to call: its headers, its organisation, and the alert it calls on."""

    username: str
    headers: dict[str, str]
    organisation_id: uuid.UUID | None
    alert_id: str
    #: who may read that alert (for a correct If-Match)
    alert_reader: str


@dataclass
class Scenario:
    client: httpx.AsyncClient
    world: Any
    child_id: str
    alert_id: str
    enrolment_id: str
    #: a provisional child (no PIN) in Копринка, born about when the pupil was
    provisional_id: str
    extra: dict[str, str] = field(default_factory=dict)

    async def _admin(self) -> dict[str, str]:
        return await self.world.headers("platform.admin")

    async def _create_user(self, caller: Caller) -> None:
        admin = await self._admin()
        org_code = caller.username.split(".")[0]
        if caller.org is not None:
            code, kind, name = caller.org
            created = await self.client.post(
                "/api/v1/organisations", headers=admin,
                json={"code": code, "kind": kind, "name": name, "municipality_codes": [caller.municipality]},
            )
            assert created.status_code == 201, created.text
        user = await self.client.post(
            "/api/v1/users", headers=admin,
            json={"username": caller.username, "password": PASSWORD,
                  "organisation_id": str(await self.world.organisation_id(org_code)), "roles": [caller.role]},
        )
        assert user.status_code == 201, user.text

    async def _raise_whereabouts(self) -> str:
        """mun-kazanlak cannot find the family: a `whereabouts_unknown` alert to police-kazanlak."""
        raised = await self.client.post(
            "/api/v1/alerts", headers=await self.world.headers("mun-kazanlak.municipal"),
            json={"child_id": self.child_id, "type": "whereabouts_unknown", "severity": "urgent",
                  "details": {"field_visit_result": "not_found"}},
        )
        assert raised.status_code == 201, raised.text
        police = str(await self.world.organisation_id("police-kazanlak"))
        assert police in {r["organisation_id"] for r in raised.json()["recipients"]}
        return str(raised.json()["id"])

    async def _refer_to_provider(self) -> None:
        """The guardian consents, and cp-kazanlak refers the alert to provider-kazanlak."""
        cp = await self.world.headers("cp-kazanlak.cp")
        provider_id = str(await self.world.organisation_id("provider-kazanlak"))
        today = local_today()
        consent = await self.client.post(
            f"/api/v1/children/{self.child_id}/consents", headers=cp,
            json={"guardian_name": "Майка на детето", "guardian_relationship": "mother",
                  "purposes": ["support_services"], "recipient_ids": [provider_id],
                  "valid_from": str(today - timedelta(days=1)), "valid_until": str(today + timedelta(days=200)),
                  "evidence": "вх. № 42/2026"},
        )
        assert consent.status_code == 201, consent.text
        referred = await self.client.post(
            f"/api/v1/alerts/{self.alert_id}/actions",
            headers={**cp, "If-Match": await self.etag(self.alert_id, "cp-kazanlak.cp")},
            json={"kind": "referral", "recipient_id": provider_id},
        )
        assert referred.status_code == 200, referred.text

    async def _refer_to_commission(self) -> None:
        """cp-kazanlak refers the alert to the juvenile commission of Казанлък."""
        cp = await self.world.headers("cp-kazanlak.cp")
        referred = await self.client.post(
            f"/api/v1/alerts/{self.alert_id}/actions",
            headers={**cp, "If-Match": await self.etag(self.alert_id, "cp-kazanlak.cp")},
            json={"kind": "referral", "recipient_id": str(await self.world.organisation_id("mkbppmn-kazanlak"))},
        )
        assert referred.status_code == 200, referred.text

    async def prepare(self, role: str, relationship: str) -> Prepared:
        caller = CALLERS[(role, relationship)]
        alert_id, reader = self.alert_id, "cp-kazanlak.cp"
        if caller.setup == "user":
            await self._create_user(caller)
        elif caller.setup == "whereabouts":
            alert_id, reader = await self._raise_whereabouts(), "mun-kazanlak.municipal"
        elif caller.setup == "referral":
            await self._refer_to_provider()
        elif caller.setup == "commission":
            await self._refer_to_commission()
        org_code = caller.username.split(".")[0]
        org = None if caller.username == "platform.admin" else await self.world.organisation_id(org_code)
        return Prepared(caller.username, await self.world.headers(caller.username), org, alert_id, reader)

    async def etag(self, alert_id: str, reader: str) -> str:
        """The alert's current ETag, from a GET by a principal that may read it."""
        read = await self.client.get(f"/api/v1/alerts/{alert_id}", headers=await self.world.headers(reader))
        assert read.status_code == 200, read.text
        return read.headers["ETag"]

    async def call(
        self, endpoint: str, who: Prepared, *, child_id: str | None = None, alert_id: str | None = None,
        enrolment_id: str | None = None, pin: str | None = None,
    ) -> httpx.Response:
        """Call `endpoint` as `who`, on the scenario's records unless others are named (the
        ids of records that do not exist, to compare a 404 with)."""
        c, h = self.client, dict(who.headers)
        child = child_id or self.child_id
        alert = alert_id or who.alert_id
        enrolment = enrolment_id or self.enrolment_id
        if endpoint in (ACKNOWLEDGE, ACTIONS, CLOSE):
            h["If-Match"] = await self.etag(who.alert_id, who.alert_reader)
        own_school = str(who.organisation_id or await self.world.organisation_id("school-koprinka"))
        match endpoint:
            case "POST /children (new PIN)":
                return await c.post("/api/v1/children", headers=h, json={
                    "pin": pin or NEW_PIN, "given_name": "Калина", "family_name": "Стойчева",
                    "date_of_birth": "2016-05-14", "sex": "female", "municipality_code": "SZR12"})
            case "POST /children (known PIN)":
                return await c.post("/api/v1/children", headers=h, json={
                    "pin": PUPIL_PIN, "given_name": _PUPIL["given_name"], "family_name": _PUPIL["family_name"],
                    "sex": _PUPIL["sex"], "municipality_code": _PUPIL["municipality_code"]})
            case "POST /children/lookup":
                return await c.post("/api/v1/children/lookup", headers=h, json={"pin": pin or PUPIL_PIN})
            case "GET /children/{id}":
                return await c.get(f"/api/v1/children/{child}", headers=h)
            case "GET /children/{id}/history":
                return await c.get(f"/api/v1/children/{child}/history", headers=h)
            case "POST /enrolments":
                return await c.post("/api/v1/enrolments", headers=h, json={
                    "child_id": child, "school_id": own_school, "grade": _PUPIL["grade"],
                    "start_date": str(local_today())})
            case "PATCH /enrolments/{id}":
                return await c.patch(f"/api/v1/enrolments/{enrolment}", headers=h, json={"grade": _PUPIL["grade"]})
            case "POST /enrolments/{id}/release":
                return await c.post(f"/api/v1/enrolments/{enrolment}/release", headers=h, json={"destination": "abroad"})
            case "POST /alerts":
                return await c.post("/api/v1/alerts", headers=h, json={
                    "child_id": child, "type": "dropout_risk", "severity": "concern",
                    "details": {"indicators": ["absences"]}})
            case "GET /alerts":
                return await c.get("/api/v1/alerts", headers=h)
            case "GET /alerts/{id}":
                return await c.get(f"/api/v1/alerts/{alert}", headers=h)
            case "POST /alerts/{id}/acknowledge":
                return await c.post(f"/api/v1/alerts/{alert}/acknowledge", headers=h)
            case "POST /alerts/{id}/actions":
                return await c.post(f"/api/v1/alerts/{alert}/actions", headers=h, json={"kind": "contact_family"})
            case "POST /alerts/{id}/close":
                return await c.post(f"/api/v1/alerts/{alert}/close", headers=h, json={"outcome": "unfounded"})
            case "GET /me/notifications":
                return await c.get("/api/v1/me/notifications", headers=h)
            case "PUT /me/notifications":
                return await c.put("/api/v1/me/notifications", headers=h, json={
                    "email": "someone@example.bg", "events": ["alert_assigned"], "digest_hour": 8})
            case "GET /inbox":
                return await c.get("/api/v1/inbox", headers=h)
            case "GET /routing-rules":
                return await c.get("/api/v1/routing-rules", headers=h)
            case "PUT /routing-rules":
                return await c.put("/api/v1/routing-rules", headers=h, json=ROUTING_RULES)
            case "POST /enrolments/batch":
                return await c.post("/api/v1/enrolments/batch", headers=h, json={"rows": [{
                    "pin": PUPIL_PIN, "given_name": _PUPIL["given_name"], "family_name": _PUPIL["family_name"],
                    "sex": _PUPIL["sex"], "grade": _PUPIL["grade"]}]})
            case "POST /children/provisional":
                return await c.post("/api/v1/children/provisional", headers=h, json={
                    "given_name": "Стефка", "family_name": "Рашидова", "birth_year": 2014, "sex": "female",
                    "settlement_code": KOPRINKA})
            case "POST /children/{id}/merge":
                provisional = child_id or self.provisional_id
                return await c.post(f"/api/v1/children/{provisional}/merge", headers=h, json={"pin": PUPIL_PIN})
            case "POST /children/known-to-cp":
                return await c.post("/api/v1/children/known-to-cp", headers=h, json={"pin": pin or PUPIL_PIN})
        raise AssertionError(endpoint)


@pytest.fixture
async def scenario(client, world) -> Scenario:
    """The Koprinka pupil and its `unexcused_absences` alert, raised by its teacher."""
    teacher = await world.headers("school-koprinka.staff")
    found = await client.post("/api/v1/children/lookup", json={"pin": PUPIL_PIN}, headers=teacher)
    assert found.status_code == 200, found.text
    child = found.json()
    raised = await client.post(
        "/api/v1/alerts", headers=teacher,
        json={"child_id": child["id"], "type": "unexcused_absences", "severity": "concern",
              "details": {"month": "2026-10", "unexcused_hours": 12}},
    )
    assert raised.status_code == 201, raised.text
    routed = {r["organisation_id"]: r["lead"] for r in raised.json()["recipients"]}
    assert routed == {str(await world.organisation_id("cp-kazanlak")): True,
                      str(await world.organisation_id("mun-kazanlak")): False}
    provisional = await client.post(
        "/api/v1/children/provisional", headers=await world.headers("cp-kazanlak.cp"),
        json={"given_name": "Ангел", "family_name": "Ангелов", "birth_year": 2011, "sex": "male",
              "settlement_code": KOPRINKA},
    )
    assert provisional.status_code == 201, provisional.text
    return Scenario(
        client, world, child["id"], raised.json()["id"], child["current_enrolment"]["id"], provisional.json()["id"]
    )


# ---------------------------------------------------------------------------------------------
# The test of one cell
# ---------------------------------------------------------------------------------------------


async def _last_seq(world) -> int:
    async with world.database.transaction() as session:
        return int((await session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0)))).scalar_one())


async def _events_after(world, seq: int) -> list[AuditEvent]:
    async with world.database.transaction() as session:
        return list(
            (await session.execute(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq))).scalars()
        )


def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Alerts of a list page, or of an inbox page (its items and its overdue list)."""
    found: list[dict[str, Any]] = []
    for item in body.get("items", []):
        if "kind" in item:  # an inbox entry: an alert or a notice
            found.extend([item["alert"]] if item.get("alert") else [])
        else:
            found.append(item)
    return found + list(body.get("overdue", []))


def _without_instance(body: dict[str, Any]) -> dict[str, Any]:
    """A problem body without what only echoes the caller's own request (its URL, its id)."""
    return {k: v for k, v in body.items() if k not in ("instance", "request_id")}


@pytest.mark.parametrize(
    ("role", "relationship", "endpoint", "expected"),
    CASES,
    ids=[f"{role}-{rel}-{endpoint}-{expected}" for role, rel, endpoint, expected in CASES],
)
async def test_access(scenario: Scenario, role: str, relationship: str, endpoint: str, expected: Any) -> None:
    who = await scenario.prepare(role, relationship)
    before = await _last_seq(scenario.world)
    response = await scenario.call(endpoint, who)
    where = f"{who.username} → {endpoint}"

    if expected in (LISTED, NOT_LISTED):
        assert response.status_code == 200, f"{where}: expected 200 ({expected}), got {response.status_code} {response.text[:300]}"
        ids = {a["id"] for a in _items(response.json())}
        got = LISTED if who.alert_id in ids else NOT_LISTED
        assert got == expected, f"{where}: the alert is {got}, expected {expected}: {sorted(ids)}"
        if expected == NOT_LISTED:  # nothing about the child shows, through this alert or another
            assert scenario.child_id not in response.text, f"{where}: the child shows through another alert"
        return

    assert response.status_code == expected, (
        f"{where}: expected {expected}, got {response.status_code} {response.text[:300]}"
    )
    if expected not in (403, 404, 409):
        return

    # a denial is a problem document ...
    assert response.headers["content-type"].split(";")[0] == "application/problem+json", response.headers
    body = response.json()
    assert body["status"] == expected
    # ... written to the audit trail, once, as this caller's denial
    denials = [e for e in await _events_after(scenario.world, before) if e.decision == "deny"]
    assert len(denials) == 1, f"{where}: {len(denials)} deny events were written, expected 1"
    assert denials[0].actor_organisation_id == who.organisation_id
    assert role in denials[0].actor_roles
    # ... and it shows nothing of the child or the alert
    shown = json.dumps(_without_instance(body), ensure_ascii=False)
    for secret in (scenario.child_id, scenario.provisional_id, scenario.alert_id, who.alert_id, scenario.enrolment_id,
                   PUPIL_PIN,
                   _PUPIL["given_name"], _PUPIL["family_name"]):
        assert secret not in shown, f"{where}: the {expected} answer reveals {secret!r}: {shown}"

    if expected == 404:  # the very same answer as for a record that does not exist
        nowhere = str(uuid.uuid4())
        missing = await scenario.call(
            endpoint, who, child_id=nowhere, alert_id=nowhere, enrolment_id=nowhere, pin=UNKNOWN_PIN
        )
        assert missing.status_code == 404, f"{where} on a record that does not exist: {missing.text[:300]}"
        assert _without_instance(missing.json()) == _without_instance(body), (
            f"{where}: a related-but-hidden record answers unlike a missing one: {body} vs {missing.json()}"
        )


# ---------------------------------------------------------------------------------------------
# Around the matrix
# ---------------------------------------------------------------------------------------------


async def test_police_related_through_a_whereabouts_alert_see_that_alert_only(scenario: Scenario) -> None:
    """police-kazanlak is related to the child through the whereabouts alert routed to it, not
    to the absences alert routed to child protection and the municipality."""
    who = await scenario.prepare("police_officer", RELATED)
    client = scenario.client
    assert (await client.get(f"/api/v1/alerts/{who.alert_id}", headers=who.headers)).status_code == 200
    assert (await client.get(f"/api/v1/alerts/{scenario.alert_id}", headers=who.headers)).status_code == 404
    listed = {a["id"] for a in _items((await client.get("/api/v1/alerts", headers=who.headers)).json())}
    assert listed == {who.alert_id}
    history = await client.get(f"/api/v1/children/{scenario.child_id}/history", headers=who.headers)
    assert history.status_code == 200, history.text
    assert {e["alert_id"] for e in history.json()["entries"]} == {who.alert_id}
    lukovit = await scenario.world.headers("police-lukovit.police")
    assert (await client.get(f"/api/v1/alerts/{who.alert_id}", headers=lukovit)).status_code == 404


@pytest.mark.parametrize(
    ("role", "relationship"),
    # the registrants whose lookup of the pupil answers 404 in the matrix
    [("school_admin", SAME), ("school_admin", OTHER), ("cp_officer", OTHER), ("municipal_coordinator", OTHER)],
)
async def test_matching_a_known_pin_discloses_nothing_to_an_unrelated_registrant(
    scenario: Scenario, role: str, relationship: str
) -> None:
    """Registering a known PIN "returns the existing child" (DESIGN §3), so the id and the 200
    are the contract. But a caller with no relationship with the child (its lookup of the same
    PIN answers 404, DESIGN §4.2 and §7 "child if related") must not learn through it what it
    could not look up: the names on record and where the child is at school now."""
    who = await scenario.prepare(role, relationship)
    looked_up = await scenario.call(LOOKUP, who)
    assert looked_up.status_code == 404, looked_up.text
    matched = await scenario.client.post("/api/v1/children", headers=who.headers, json={
        "pin": PUPIL_PIN, "given_name": "Някакво", "family_name": "Име", "sex": _PUPIL["sex"]})
    assert matched.status_code == 200, matched.text
    assert matched.json() == {"id": scenario.child_id}, "a match answers the id and nothing else"


# ---------------------------------------------------------------------------------------------
# Joint enrolment teams: membership is a relationship (DESIGN §2, §4 point 2)
# ---------------------------------------------------------------------------------------------

TEAM_ENDPOINTS = (READ_ALERT, LIST, READ_CHILD, HISTORY, ACTIONS)


async def _assign_to_team(scenario: Scenario, code: str) -> str:
    coordinator = await scenario.world.headers("mun-kazanlak.municipal")
    teams = await scenario.client.get("/api/v1/teams", headers=coordinator)
    team = next(t["id"] for t in teams.json()["items"] if t["code"] == code)
    assigned = await scenario.client.post(
        f"/api/v1/alerts/{scenario.alert_id}/assign", json={"team_id": team},
        headers={**coordinator, "If-Match": await scenario.etag(scenario.alert_id, "cp-kazanlak.cp")},
    )
    assert assigned.status_code == 200, assigned.text
    return str(team)


async def _as_member(scenario: Scenario, username: str) -> Prepared:
    org = await scenario.world.organisation_id(username.split(".")[0])
    return Prepared(username, await scenario.world.headers(username), org, scenario.alert_id, "cp-kazanlak.cp")


@pytest.mark.parametrize("endpoint", TEAM_ENDPOINTS)
@pytest.mark.parametrize(
    ("member", "expected"),
    [
        # team-lukovit's members: a teacher, child protection, police of another municipality
        # (a school responds to what is routed to it, so a teacher's refusal hides the alert too)
        ("school-lukovit-1.staff", {}),
        ("cp-lukovit.cp", {}),
        ("police-lukovit.police", {}),
    ],
)
async def test_member_of_another_team_sees_nothing(
    scenario: Scenario, member: str, expected: dict[str, int], endpoint: str
) -> None:
    """The alert is assigned to team-kazanlak; a member of team-lukovit gets the answers of a
    record that does not exist (a role that may not respond at all: its 403, as for any alert)."""
    await _assign_to_team(scenario, "team-kazanlak")
    who = await _as_member(scenario, member)
    response = await scenario.call(endpoint, who)
    if endpoint == LIST:
        assert response.status_code == 200, response.text
        assert scenario.child_id not in response.text
        return
    assert response.status_code == expected.get(endpoint, 404), response.text
    nowhere = str(uuid.uuid4())
    if endpoint != ACTIONS:
        missing = await scenario.call(endpoint, who, child_id=nowhere, alert_id=nowhere)
        assert _without_instance(missing.json()) == _without_instance(response.json())


@pytest.mark.parametrize("endpoint", TEAM_ENDPOINTS)
async def test_unrelated_teacher_sees_the_case_only_while_on_its_team(scenario: Scenario, endpoint: str) -> None:
    """school-kazanlak.staff has no relationship with the Koprinka pupil: put on the team the
    alert is assigned to, the teacher reads and works the case; taken off, sees nothing again."""
    team = await _assign_to_team(scenario, "team-kazanlak")
    coordinator = await scenario.world.headers("mun-kazanlak.municipal")
    teacher = await _as_member(scenario, "school-kazanlak.staff")
    before = await scenario.call(endpoint, teacher)
    assert before.status_code == (200 if endpoint == LIST else 404), before.text

    user_id = (await scenario.client.get("/api/v1/me", headers=teacher.headers)).json()["id"]
    added = await scenario.client.post(f"/api/v1/teams/{team}/members", json={"user_id": user_id},
                                       headers=coordinator)
    assert added.status_code == 201, added.text
    during = await scenario.call(endpoint, teacher)
    assert during.status_code == 200, during.text
    if endpoint == LIST:
        assert scenario.alert_id in {a["id"] for a in _items(during.json())}

    removed = await scenario.client.delete(f"/api/v1/teams/{team}/members/{user_id}", headers=coordinator)
    assert removed.status_code == 200, removed.text
    after = await scenario.call(endpoint, teacher)
    assert after.status_code == before.status_code, after.text
    if endpoint == LIST:
        assert scenario.child_id not in after.text
