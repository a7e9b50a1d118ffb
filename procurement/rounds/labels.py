"""What people read for a buying round's and an aggregator run's status, and their tag colours:
one vocabulary for every page, message and email (registered in app.statuses)."""

from __future__ import annotations

from app.statuses import vocabulary
from procurement.rounds.models import RoundStatus, RunStatus

STATUS_TEXT = vocabulary(
    RoundStatus,
    {
        RoundStatus.DRAFT: ("Draft", "grey"),
        RoundStatus.OPEN: ("Open for pledges", "teal"),
        RoundStatus.CLOSED: ("Pledging closed", "grey"),
        RoundStatus.RUN: ("Allocation ready", "yellow"),
        RoundStatus.AWARDED: ("Awarded", "green"),
        RoundStatus.CANCELLED: ("Cancelled", "grey"),
    },
)

RUN_STATUS_TEXT = vocabulary(
    RunStatus,
    {
        RunStatus.QUEUED: ("Queued", "blue"),
        RunStatus.RUNNING: ("Running", "turquoise"),
        RunStatus.DONE: ("Done", "green"),
        RunStatus.FAILED: ("Failed", "red"),
    },
)
