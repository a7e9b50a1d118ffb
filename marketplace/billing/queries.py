"""Reading invoices: a school's own, every school's for the office, and what is still due."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import School
from marketplace.billing.errors import InvoiceNotFound
from marketplace.billing.models import Invoice, InvoiceLine, InvoiceStatus


def _of_schools(school_id: int | None, trust_id: int | None) -> sa.ColumnElement[bool]:
    """One school's invoices, or (with `trust_id`) every school's in the trust."""
    if trust_id is not None:
        return Invoice.school_id.in_(sa.select(School.id).where(School.trust_id == trust_id))
    return Invoice.school_id == school_id


def school_invoices(
    school_id: int | None, status: InvoiceStatus | None = None, *, trust_id: int | None = None
) -> sa.Select:
    """The school's invoices (or every trust school's, with `trust_id`), newest first (a
    statement for pagination)."""
    stmt = (
        sa.select(Invoice)
        .where(_of_schools(school_id, trust_id))
        .options(selectinload(Invoice.school))
    )
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    return stmt.order_by(Invoice.created_at.desc(), Invoice.id.desc())


def all_invoices(status: InvoiceStatus | None = None) -> sa.Select:
    """Every school's invoices, newest first (a statement for pagination)."""
    stmt = sa.select(Invoice).options(selectinload(Invoice.school))
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    return stmt.order_by(Invoice.created_at.desc(), Invoice.id.desc())


def get_invoice_for_school(
    invoice_id: int, school_id: int | None, *, trust_id: int | None = None
) -> Invoice:
    """One of the school's own invoices, or (with `trust_id`) of a school in the trust (404
    for anyone else's)."""
    invoice = db.session.scalar(
        sa.select(Invoice).where(Invoice.id == invoice_id, _of_schools(school_id, trust_id))
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


def outstanding_pence(school_id: int | None, *, trust_id: int | None = None) -> int:
    """What the school (or every school of the trust) still has to pay on open invoices."""
    value = db.session.scalar(
        sa.select(
            sa.func.coalesce(
                sa.func.sum(
                    Invoice.total_pence - Invoice.credited_pence - Invoice.amount_paid_pence
                ),
                0,
            )
        ).where(_of_schools(school_id, trust_id), Invoice.status == InvoiceStatus.OPEN)
    )
    return int(value or 0)
