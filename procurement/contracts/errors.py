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
