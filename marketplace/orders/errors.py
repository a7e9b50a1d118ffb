"""Orders' domain errors, each with a stable code and a sentence for people."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotFound


class InvalidOrder(DomainError):
    code = "order_invalid"


class OrderNotFound(NotFound):
    code = "order_not_found"


class OfferUnavailable(Conflict):
    """Withdrawn, expired, not for this school, or not for this term."""

    code = "offer_unavailable"


class CapacityExhausted(Conflict):
    code = "capacity_exhausted"


class OrderStateConflict(Conflict):
    """The order is not in a state that allows this (e.g. already submitted)."""

    code = "order_state"


class PriceChanged(Conflict):
    code = "price_changed"


class CancellationRefused(Conflict):
    code = "cancellation_refused"


class InvalidApprovalChain(DomainError):
    """An approval chain a head entered does not make sense (field-level problems)."""

    code = "approval_chain_invalid"

    def __init__(self, problems: dict[str, str]) -> None:
        field, message = next(iter(problems.items()))
        super().__init__(message, field=field)
        self.problems = problems


class ApprovalRefused(Conflict):
    """This person may not give the order's next approval (wrong role, or the same person)."""

    code = "approval_refused"
