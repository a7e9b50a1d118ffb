"""The marketplace's domain errors, each with a stable code and a sentence for people."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotFound


class MarketplaceError(DomainError):
    """Bad input to a marketplace use case; `field` names the form field it belongs to."""

    code = "marketplace_invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field


class InvalidOrder(MarketplaceError):
    code = "order_invalid"


class InvalidOffer(MarketplaceError):
    code = "offer_invalid"


class OrderNotFound(NotFound):
    code = "order_not_found"


class OfferNotFound(NotFound):
    code = "offer_not_found"


class ServiceNotFound(NotFound):
    code = "service_not_found"


class OfferUnavailable(Conflict):
    """Withdrawn, expired, not for this school, or not for this term."""

    code = "offer_unavailable"


class CapacityExhausted(Conflict):
    code = "capacity_exhausted"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OrderStateConflict(Conflict):
    """The order is not in a state that allows this (e.g. already submitted)."""

    code = "order_state"


class OfferStateConflict(Conflict):
    code = "offer_state"


class PriceChanged(Conflict):
    code = "price_changed"


class CancellationRefused(Conflict):
    code = "cancellation_refused"
