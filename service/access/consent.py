"""When may a case be shared on the basis of a guardian's consent (DESIGN §3 Consent, §4
point 4)? Public bodies act under legal obligation or public task; consent is the condition for
sharing with service providers, and its withdrawal or expiry stops sharing at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class ConsentFacts:
    consent_id: uuid.UUID
    child_id: uuid.UUID
    purposes: frozenset[str]
    recipients: frozenset[uuid.UUID]
    valid_from: date
    valid_until: date
    withdrawn_at: datetime | None


def consent_state(facts: ConsentFacts, today: date) -> str:
    if facts.withdrawn_at is not None:
        return "withdrawn"
    if today < facts.valid_from:
        return "not_yet_valid"
    if today > facts.valid_until:
        return "expired"
    return "active"


def sharing_refusal(
    facts: ConsentFacts | None, *, child_id: uuid.UUID, recipient: uuid.UUID, purpose: str | None,
    today: date,
) -> str | None:
    """None when the consent lets the child's case reach `recipient` for `purpose` today;
    otherwise the reason, in the words the audit trail records. Keeping what was already shared
    needs the consent to stand (`purpose=None`); the purpose was checked when it was shared."""
    if facts is None:
        return "no consent recorded"
    if facts.child_id != child_id:
        return "consent is for another child"
    state = consent_state(facts, today)
    if state != "active":
        return {"withdrawn": "consent withdrawn", "expired": "consent expired",
                "not_yet_valid": "consent not yet valid"}[state]
    if recipient not in facts.recipients:
        return "consent does not cover this organisation"
    if purpose is not None and purpose not in facts.purposes:
        return f"consent does not cover the purpose {purpose}"
    return None
