"""What people read for an invoice's, a credit note's and a billing run's status, and their tag
colours: one vocabulary for every page, dashboard and email (registered in app.statuses)."""

from __future__ import annotations

from app.statuses import vocabulary
from marketplace.billing.models import BillingRunStatus, CreditNoteStatus, InvoiceStatus

INVOICE_STATUS_LABELS = vocabulary(
    InvoiceStatus,
    {
        InvoiceStatus.DRAFT: ("Being prepared", "grey"),
        InvoiceStatus.OPEN: ("To pay", "blue"),
        InvoiceStatus.PAID: ("Paid", "green"),
        InvoiceStatus.VOID: ("Cancelled (void)", "grey"),
        InvoiceStatus.UNCOLLECTIBLE: ("Written off", "orange"),
    },
)
# An invoice to pay whose due date has passed (a state shown beside the status, not stored).
OVERDUE_TEXT = "Overdue"

CREDIT_NOTE_STATUS_LABELS = vocabulary(
    CreditNoteStatus,
    {
        CreditNoteStatus.PENDING: ("Being prepared", "grey"),
        CreditNoteStatus.ISSUED: ("Issued", "green"),
        CreditNoteStatus.APPLIED_TO_DRAFT: ("Taken off the next invoice", "teal"),
        CreditNoteStatus.VOID: ("Cancelled (void)", "grey"),
    },
)

BILLING_RUN_STATUS_LABELS = vocabulary(
    BillingRunStatus,
    {
        BillingRunStatus.RUNNING: ("Running", "turquoise"),
        BillingRunStatus.FINISHED: ("Finished", "green"),
        BillingRunStatus.FAILED: ("Failed", "red"),
    },
)
