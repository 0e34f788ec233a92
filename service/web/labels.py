"""Words people read for the service's codes (alert types, states, outcomes, roles...). The
English text is the message id; the catalogues give the Bulgarian. `N_` only marks a string
for extraction (babel.cfg); the template filter `label` translates it when the page renders."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - gettext's name for a marker
    return message


LABELS: dict[str, dict[str, str]] = {
    "alert_type": {
        "unexcused_absences": N_("Unexcused absences"),
        "dropout_risk": N_("Risk of dropping out"),
        "not_enrolled": N_("Not enrolled"),
        "left_education": N_("Left education"),
        "whereabouts_unknown": N_("Whereabouts unknown"),
        "abuse_or_neglect_suspected": N_("Suspected abuse or neglect"),
        "support_needed": N_("Support needed"),
        "found_out_of_school": N_("Found out of school"),
    },
    "severity": {"info": N_("Information"), "concern": N_("Concern"), "urgent": N_("Urgent")},
    "status": {"open": N_("Open"), "closed": N_("Closed")},
    "recipient_state": {
        "delivered": N_("Delivered"),
        "acknowledged": N_("Acknowledged"),
        "in_progress": N_("In progress"),
        "done": N_("Done"),
    },
    "outcome": {
        "returned_to_school": N_("Returned to school"),
        "enrolled_first_time": N_("Enrolled for the first time"),
        "enrolled_elsewhere": N_("Enrolled elsewhere"),
        "moved_abroad": N_("Moved abroad"),
        "moved_within_country": N_("Moved within the country"),
        "referred_to_service": N_("Referred to a service"),
        "protective_measure": N_("Protective measure"),
        "not_found": N_("Not found"),
        "unfounded": N_("Unfounded"),
        "other": N_("Other"),
        "unrecorded": N_("Outcome not recorded"),
    },
    "action_kind": {
        "contact_family": N_("Contact with the family"),
        "field_visit": N_("Field visit"),
        "meeting": N_("Meeting"),
        "referral": N_("Referral"),
        "note": N_("Note"),
        "benefit_decision": N_("Benefit decision"),
        "absence_answer": N_("Answer: was the absence excused"),
    },
    "visit_result": {
        "found_at_address": N_("Found at the address"),
        "not_found": N_("Not found"),
        "family_moved": N_("The family has moved"),
        "abroad": N_("Abroad"),
    },
    "history_event": {
        "alert_raised": N_("Alert raised"),
        "acknowledged": N_("Acknowledged"),
        "action": N_("Action recorded"),
        "referral_answered": N_("Referral answered"),
        "recipient_done": N_("Finished its part"),
        "alert_closed": N_("Alert closed"),
    },
    "role": {
        "school_staff": N_("School staff"),
        "school_admin": N_("School administrator"),
        "cp_officer": N_("Child protection officer"),
        "police_officer": N_("Police officer"),
        "municipal_coordinator": N_("Municipal coordinator"),
        "provider_worker": N_("Service provider"),
        "education_officer": N_("Regional education officer"),
        "commission_officer": N_("Juvenile commission officer"),
        "auditor": N_("Auditor"),
        "admin": N_("Administrator"),
    },
    "organisation_kind": {
        "school": N_("School"),
        "child_protection": N_("Child protection department"),
        "police": N_("Police"),
        "municipality": N_("Municipality"),
        "service_provider": N_("Service provider"),
        "education_authority": N_("Regional education office"),
        "juvenile_commission": N_("Juvenile commission"),
    },
    "decision": {"allow": N_("Allowed"), "deny": N_("Refused")},
    "sex": {"male": N_("Boy"), "female": N_("Girl")},
    "legal_basis": {
        "legal_obligation": N_("Legal obligation"),
        "public_task": N_("Public task"),
        "consent": N_("Consent"),
    },
    "purpose": {
        "enrolment_followup": N_("Enrolment follow-up"),
        "child_protection": N_("Child protection"),
        "law_enforcement": N_("Law enforcement"),
        "support_services": N_("Support services"),
        "audit": N_("Audit"),
        "emergency": N_("Emergency"),
    },
    "consent_purpose": {
        "support_services": N_("Support services"),
        "health_followup": N_("Health follow-up"),
        "education_support": N_("Support in education"),
    },
    "guardian_relationship": {
        "mother": N_("Mother"),
        "father": N_("Father"),
        "guardian": N_("Guardian"),
        "foster_parent": N_("Foster parent"),
        "grandparent": N_("Grandparent"),
        "other": N_("Other"),
    },
    "consent_state": {
        "active": N_("In force"),
        "not_yet_valid": N_("Not yet in force"),
        "expired": N_("Expired"),
        "withdrawn": N_("Withdrawn"),
    },
    "referral_status": {
        "pending": N_("Waiting for your answer"),
        "accepted": N_("Accepted"),
        "declined": N_("Declined"),
    },
    "review_outcome": {
        "justified": N_("Justified"),
        "unjustified": N_("Not justified"),
        "needs_follow_up": N_("Needs follow-up"),
    },
    "not_enrolled_reason": {
        "not_in_school_register": N_("Not in the school register"),
        "left_without_transfer": N_("Left school without a transfer certificate"),
        "returned_from_abroad": N_("Returned from abroad"),
        "moved_within_country": N_("Moved within the country"),
        "other": N_("Other"),
    },
    "follow_up": {
        "pending": N_("Follow-up pending"),
        "asked": N_("The school is asked"),
        "retained": N_("Stayed in school"),
        "dropped_again": N_("Dropped out again"),
    },
    "indicator": {
        "absences": N_("Absences"),
        "grades": N_("Grades"),
        "family": N_("Family"),
        "work": N_("Work"),
        "migration": N_("Migration"),
        "other": N_("Other"),
    },
}

#: the names of the details fields of every alert type, for the form built from its schema
FIELD_LABELS: dict[str, str] = {
    "month": N_("Month (YYYY-MM)"),
    "unexcused_hours": N_("Unexcused hours"),
    "unexcused_days": N_("Unexcused days"),
    "school_year": N_("School year (YYYY/YYYY)"),
    "months_over_threshold": N_("Months over the threshold"),
    "indicators": N_("Signs"),
    "expected_grade": N_("Expected grade"),
    "left_on": N_("Left on"),
    "last_grade": N_("Last grade"),
    "last_seen_on": N_("Last seen on"),
    "last_known_municipality_code": N_("Last known municipality (code)"),
    "field_visit_result": N_("Result of a field visit"),
    "observed_on": N_("Observed on"),
    "immediate_danger": N_("The child is in immediate danger"),
    "recipient_id": N_("Service provider"),
    "purpose": N_("Purpose"),
    "needs": N_("Needs (comma separated)"),
    "found_at": N_("Found at (date and time)"),
    "place": N_("Place where the child was found"),
    "settlement_code": N_("Settlement (EKATTE code)"),
    "reason": N_("Reason"),
}

#: which labels group gives the choices of a details field that is an enumeration
FIELD_CHOICES: dict[str, str] = {
    "field_visit_result": "visit_result", "indicators": "indicator", "reason": "not_enrolled_reason",
}
