"""The documents' domain errors."""

from __future__ import annotations

from app.errors import DomainError, NotFound


class FinanceCodeInvalid(DomainError):
    code = "finance_code_invalid"


class CreditNoteNotFound(NotFound):
    code = "credit_note_not_found"
