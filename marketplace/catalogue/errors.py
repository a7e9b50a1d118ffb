"""The catalogue's domain errors."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotFound


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


class CategoryNotFound(NotFound):
    code = "category_not_found"


class InvalidCatalogueEntry(DomainError):
    """A category or service as typed breaks a rule (blank name, bad slug, taken slug…)."""

    code = "catalogue_entry_invalid"


class ServiceRetired(Conflict):
    """A retired service keeps its history but takes no new offers or orders."""

    code = "service_retired"
