"""Contracts' domain errors."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotAllowed, NotFound


class ContractNotFound(NotFound):
    code = "contract_not_found"


class InvalidCallOff(DomainError):
    """A call-off's term, quantity, purchase-order number or notes cannot be accepted."""

    code = "invalid_call_off"


class CallOffRefused(Conflict):
    """The contract cannot take this call-off now: not active, not running in the term, or the
    provider cannot be ordered from."""

    code = "call_off_refused"


class DrawdownExceeded(Conflict):
    """The call-off needs more units or value than the contract has left."""

    code = "drawdown_exceeded"


class CallOffNotAllowed(NotAllowed):
    """This person (or school) may not call off under the contract."""

    code = "call_off_not_allowed"


class InvalidCallOffTerms(DomainError):
    """A contract's maximum value or openness cannot be set so."""

    code = "invalid_call_off_terms"


class CallOffTermsNotAllowed(NotAllowed):
    code = "call_off_terms_not_allowed"
