"""What a person can be told by e-mail. Urgent alerts are always sent at once, whatever the
digest setting."""

from __future__ import annotations

from enum import StrEnum


class NoticeEvent(StrEnum):
    #: an alert routed to my organisation
    alert_routed = "alert_routed"
    #: my organisation's part of an alert assigned to me
    alert_assigned = "alert_assigned"
    #: my organisation let an alert's acknowledgement deadline pass
    alert_overdue = "alert_overdue"
    #: an alert I raised was closed
    alert_closed = "alert_closed"
    #: someone used break-glass access to a child of my department
    break_glass = "break_glass"
    #: someone asked whether a child of my department is known to child protection
    known_to_cp = "known_to_cp"


#: what a person gets until they choose: everything addressed to them, and what their
#: department must know; a routed alert only when asked for (an inbox gets many)
DEFAULT_EVENTS = (
    NoticeEvent.alert_assigned,
    NoticeEvent.alert_overdue,
    NoticeEvent.alert_closed,
    NoticeEvent.break_glass,
    NoticeEvent.known_to_cp,
)
