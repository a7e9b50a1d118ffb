"""The catalogue's domain errors."""

from __future__ import annotations

from app.errors import DomainError, NotFound


class ServiceNotFound(NotFound):
    code = "service_not_found"


class CannotCompare(DomainError):
    """A comparison asked for with too few or too many offers, or offers of another service."""

    code = "cannot_compare"


class TooFewOffersToCompare(CannotCompare):
    code = "compare_too_few"


class TooManyOffersToCompare(CannotCompare):
    code = "compare_too_many"


class OfferNotForService(CannotCompare):
    code = "compare_other_service"


class BadCompareQuantity(CannotCompare):
    code = "compare_quantity"
