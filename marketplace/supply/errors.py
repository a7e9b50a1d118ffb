"""The supply service's domain errors, each with a stable code and a sentence for people."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotFound


class InvalidSupply(DomainError):
    """Bad input: dates, amounts, a role the card has no rate for."""

    code = "supply_invalid"


class SupplyNotFound(NotFound):
    """Not there, or not this organisation's to see."""

    code = "supply_not_found"


class VettingIncomplete(Conflict):
    """A worker with a missing or lapsed check cannot be proposed."""

    code = "vetting_incomplete"


class SupplyStateConflict(Conflict):
    """The request, booking or timesheet is not in a state that allows this."""

    code = "supply_state"


class NotReleased(Conflict):
    """In ranked release, this agency's turn has not come yet."""

    code = "supply_not_released"
