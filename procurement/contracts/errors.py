"""Contracts' domain errors."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotAllowed, NotFound


class ContractNotFound(NotFound):
    code = "contract_not_found"


# --- Amendments and termination ---------------------------------------------------------------


class AmendmentNotFound(NotFound):
    code = "amendment_not_found"


class ContractChangeNotAllowed(NotAllowed):
    """Only committee members and admins change contracts."""

    code = "contract_change_not_allowed"


class InvalidContractChange(DomainError):
    """The proposed change, termination or extension limit breaks a rule (see rules.py)."""

    code = "invalid_contract_change"


class ContractChangeConflict(Conflict):
    """The contract or the proposal is not in a state that allows this (already decided,
    terminated, …)."""

    code = "contract_change_conflict"


class SecondApproverRequired(Conflict):
    code = "second_approver_required"


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
