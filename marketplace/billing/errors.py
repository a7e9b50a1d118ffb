"""Billing's domain errors, each with a stable code and a sentence for people."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotFound


class BillingError(DomainError):
    code = "billing_invalid"


class BillingRunInProgress(Conflict):
    code = "billing_run_in_progress"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
