"""Offers' domain errors, each with a stable code and a sentence for people."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotFound


class InvalidOffer(DomainError):
    code = "offer_invalid"


class OfferNotFound(NotFound):
    code = "offer_not_found"


class OfferStateConflict(Conflict):
    code = "offer_state"
