"""Credits: what a school gets back for an order cancelled after it was billed.

A draft invoice has the order's line reduced; an issued one gets a credit note, written here
and issued in Stripe by the next billing run (`stripe_sync.StripeSync.push_credit_note`), or
numbered here (`PLD-CN-000123`) when Stripe is not configured.
"""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models import User
from app.money import format_pence
from app.time import utcnow
from marketplace.billing import rules
from marketplace.billing.invoicing import LOCAL_NUMBER_PREFIX, totals_of
from marketplace.billing.models import (
    CreditNote,
    CreditNoteStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)
from marketplace.billing.state import stripe_configured
from marketplace.orders.models import Order


def pending_credit_notes() -> sa.Select:
    """Credit notes written here and waiting for the next billing run to issue them in Stripe."""
    return sa.select(CreditNote).where(CreditNote.status == CreditNoteStatus.PENDING)


def credit_cancelled_order(
    order: Order, refund_pence: int, actor: User | None
) -> CreditNote | None:
    """Credit the school for a cancelled order that was already billed; the caller commits.

    `refund_pence` is the part of the order's value (net of VAT) the offer's cancellation
    rules give back (marketplace.offers.pricing.Settlement.refund_pence). VAT is credited at the
    line's rate. If the order was never billed there is nothing to credit: the billing run
    bills only the order's cancellation charge. On a draft invoice the line is reduced; on an
    issued one a credit note is written here and issued in Stripe by the next billing run
    (written locally as issued when Stripe is not configured). Calling it twice for the same
    order gives back the first credit note.
    """
    if refund_pence <= 0:
        return None
    existing = db.session.scalar(sa.select(CreditNote).where(CreditNote.order_id == order.id))
    if existing is not None:
        return existing
    line = db.session.scalar(sa.select(InvoiceLine).where(InvoiceLine.order_id == order.id))
    if line is None:
        return None
    invoice = db.session.scalar(
        sa.select(Invoice)
        .where(Invoice.id == line.invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert invoice is not None
    if invoice.status is InvoiceStatus.VOID:
        return None
    refund = min(refund_pence, line.amount_pence)
    if refund <= 0:
        return None
    amounts = rules.credit_amounts(refund, line.amount_pence, line.vat_rate_bp)
    reason = f"Order {order.id} cancelled: credit under the offer's cancellation rules"
    note = CreditNote(
        invoice_id=invoice.id,
        school_id=line.school_id,  # on a trust's invoice, the school of the order's line
        order_id=order.id,
        invoice_line_id=line.id,
        reason=reason,
        net_pence=amounts.amount_pence,
        vat_rate_bp=amounts.vat_rate_bp,
        vat_pence=amounts.vat_pence,
        total_pence=amounts.total_pence,
        created_by_id=actor.id if actor is not None else None,
    )
    before = invoice.snapshot()
    if invoice.status is InvoiceStatus.DRAFT:
        # Not issued yet: reduce the line itself (and the Stripe draft's line on the next push).
        kept = rules.fixed_line(line.amount_pence - refund, line.vat_rate_bp)
        line.quantity, line.unit_pence = kept.quantity, kept.unit_pence
        line.amount_pence, line.vat_pence = kept.amount_pence, kept.vat_pence
        line.description = (line.description + f" (reduced by {format_pence(refund)}: cancelled)")[
            :500
        ]
        line.stripe_outdated = line.stripe_invoice_item_id is not None
        db.session.flush()
        total = totals_of(
            db.session.scalars(sa.select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
        )
        invoice.net_pence, invoice.vat_pence = total.net_pence, total.vat_pence
        invoice.total_pence = total.total_pence
        note.status = CreditNoteStatus.APPLIED_TO_DRAFT
        note.settlement = "draft-reduced"
        note.issued_at = utcnow()
    else:
        invoice.credited_pence += amounts.total_pence
        note.settlement = (
            "off-amount-due" if invoice.status is InvoiceStatus.OPEN else "account-credit"
        )
        if invoice.stripe_invoice_id is None and not stripe_configured():
            note.status = CreditNoteStatus.ISSUED
            note.issued_at = utcnow()
        else:
            note.status = CreditNoteStatus.PENDING
    db.session.add(note)
    db.session.flush()
    if note.status is CreditNoteStatus.ISSUED and note.number is None:
        note.number = f"{LOCAL_NUMBER_PREFIX}-CN-{note.id:06d}"
    audit.record(
        actor,
        "invoice",
        invoice.id,
        "credited",
        before=before,
        after={
            **invoice.snapshot(),
            "credit_note_id": note.id,
            "order_id": order.id,
            "credit_net_pence": note.net_pence,
            "credit_vat_pence": note.vat_pence,
            "settlement": note.settlement,
        },
        scope=invoice.scope,
    )
    return note
