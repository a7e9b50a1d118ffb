"""Reading invoices: a school's own, every school's for the office, and what is still due."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from marketplace.billing.errors import InvoiceNotFound
from marketplace.billing.models import Invoice, InvoiceLine, InvoiceStatus


def school_invoices(school_id: int, status: InvoiceStatus | None = None) -> sa.Select:
    """The school's invoices, newest first (a statement for pagination)."""
    stmt = sa.select(Invoice).where(Invoice.school_id == school_id)
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    return stmt.order_by(Invoice.created_at.desc(), Invoice.id.desc())


def all_invoices(status: InvoiceStatus | None = None) -> sa.Select:
    """Every school's invoices, newest first (a statement for pagination)."""
    stmt = sa.select(Invoice).options(selectinload(Invoice.school))
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    return stmt.order_by(Invoice.created_at.desc(), Invoice.id.desc())


def get_invoice_for_school(invoice_id: int, school_id: int) -> Invoice:
    """One of the school's own invoices (404 for anyone else's)."""
    invoice = db.session.scalar(
        sa.select(Invoice).where(Invoice.id == invoice_id, Invoice.school_id == school_id)
    )
    if invoice is None:
        raise InvoiceNotFound("There is no such invoice.")
    return invoice


def get_invoice(invoice_id: int) -> Invoice:
    """Any invoice, for the partnership office."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        raise InvoiceNotFound("There is no such invoice.")
    return invoice


def invoice_for_order(order_id: int) -> Invoice | None:
    """The invoice an order was billed on, if it has been."""
    return db.session.scalar(
        sa.select(Invoice).join(InvoiceLine).where(InvoiceLine.order_id == order_id)
    )


def outstanding_pence(school_id: int) -> int:
    """What the school still has to pay on its open invoices."""
    value = db.session.scalar(
        sa.select(
            sa.func.coalesce(
                sa.func.sum(
                    Invoice.total_pence - Invoice.credited_pence - Invoice.amount_paid_pence
                ),
                0,
            )
        ).where(Invoice.school_id == school_id, Invoice.status == InvoiceStatus.OPEN)
    )
    return int(value or 0)
