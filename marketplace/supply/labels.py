"""What people read for the status of a cover request, a proposal, a booking and a timesheet,
and their tag colours: one vocabulary for every page and email (registered in app.statuses)."""

from __future__ import annotations

from app.statuses import vocabulary
from marketplace.supply.models import (
    BookingStatus,
    ProposalStatus,
    RequestStatus,
    TimesheetStatus,
)

REQUEST_STATUS_LABELS = vocabulary(
    RequestStatus,
    {
        RequestStatus.OPEN: ("Open", "teal"),
        RequestStatus.FILLED: ("Filled", "green"),
        RequestStatus.CANCELLED: ("Cancelled", "grey"),
    },
)

PROPOSAL_STATUS_LABELS = vocabulary(
    ProposalStatus,
    {
        ProposalStatus.PROPOSED: ("Proposed", "blue"),
        ProposalStatus.ACCEPTED: ("Accepted", "green"),
        ProposalStatus.NOT_CHOSEN: ("Not chosen", "grey"),
    },
)

BOOKING_STATUS_LABELS = vocabulary(
    BookingStatus,
    {
        BookingStatus.CONFIRMED: ("Confirmed", "teal"),
        BookingStatus.CANCELLED: ("Cancelled", "grey"),
    },
)

TIMESHEET_STATUS_LABELS = vocabulary(
    TimesheetStatus,
    {
        TimesheetStatus.SUBMITTED: ("Waiting for the school", "blue"),
        TimesheetStatus.APPROVED: ("Approved", "green"),
        TimesheetStatus.QUERIED: ("Queried", "yellow"),
    },
)
