"""Payments out's domain errors, each with a stable code and a sentence for people."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotFound


class PaymentInvalid(DomainError):
    code = "provider_payment_invalid"


class PaymentNotFound(NotFound):
    code = "provider_payment_not_found"


class DuplicatePaymentReference(Conflict):
    code = "provider_payment_duplicate_reference"


class BankFileRefused(PaymentInvalid):
    """The bank file has problems; `problems` lists each, with its line number. Nothing was
    recorded."""

    code = "bank_file_refused"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The file was not imported:\n" + "\n".join(problems), field="file")
        self.problems = problems
