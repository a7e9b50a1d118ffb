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


class BasketLineNotFound(NotFound):
    code = "basket_line_not_found"


class CheckoutNotFound(NotFound):
    code = "checkout_not_found"


class BasketChanged(Conflict):
    """The basket is not the one the school checked: a line or a price changed since."""

    code = "basket_changed"


class CheckoutRefused(Conflict):
    """A line of the basket cannot be ordered, so nothing was: `problems` names each one."""

    code = "checkout_refused"

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


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
