"""Joint enrolment teams of the national mechanism (DESIGN §2): an area, a lead organisation and
members from any organisation, who work the cases assigned to the team."""
