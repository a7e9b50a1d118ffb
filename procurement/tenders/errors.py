"""Tenders' domain errors, each with a stable code and a sentence for people.

A sealed bid is never confirmed to exist: anyone who may not see a bid gets `BidNotFound`,
with the same message whether or not the bid exists.
"""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotAllowed, NotFound


class TenderError(DomainError):
    """Bad input to a tender use case."""

    code = "tender_invalid"


class InvalidBid(TenderError):
    code = "bid_invalid"


class InvalidDocument(TenderError):
    code = "document_invalid"


class TenderNotFound(NotFound):
    code = "tender_not_found"


class LotNotFound(NotFound):
    code = "lot_not_found"


class BidNotFound(NotFound):
    code = "bid_not_found"

    def __init__(self) -> None:
        super().__init__("Page not found")


class DocumentNotFound(NotFound):
    code = "document_not_found"

    def __init__(self) -> None:
        super().__init__("Page not found")


class TenderStateConflict(Conflict):
    """The tender is not at a stage that allows this (e.g. the deadline has passed)."""

    code = "tender_state"


class BiddingClosed(Conflict):
    """A bid sent, changed or withdrawn when the tender is not open for bids."""

    code = "bidding_closed"


class OpeningRefused(Conflict):
    code = "opening_refused"


class StandstillNotOver(Conflict):
    code = "standstill_not_over"


class ConflictOfInterest(NotAllowed):
    """The evaluator declared a conflict for the lot, or has not declared yet."""

    code = "conflict_of_interest"
