"""Reading invoices: a school's own, every school's for the office, and what is still due.

A trust invoiced once has invoices of its own: its finance lead sees them with its schools'
invoices; each school sees a trust invoice that has lines for it, but only those lines
(`SchoolShare`), never another school's.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import School
from marketplace.billing.errors import InvoiceNotFound
from marketplace.billing.models import Invoice, InvoiceLine, InvoiceStatus


def _payable_by(school_id: int | None, trust_id: int | None) -> sa.ColumnElement[bool]:
    """The invoices one school pays, or (with `trust_id`) the trust and its schools pay."""
    if trust_id is not None:
        return sa.or_(
            Invoice.trust_id == trust_id,
            Invoice.school_id.in_(sa.select(School.id).where(School.trust_id == trust_id)),
        )
    return Invoice.school_id == school_id


def _of_schools(school_id: int | None, trust_id: int | None) -> sa.ColumnElement[bool]:
    """The invoices a school's (or a trust's) people see: those they pay, and for a school
    also its trust's invoices that have lines for it."""
    if trust_id is not None:
        return _payable_by(None, trust_id)
    return sa.or_(
        Invoice.school_id == school_id,
        sa.and_(
            Invoice.trust_id.is_not(None),
            Invoice.id.in_(
                sa.select(InvoiceLine.invoice_id).where(InvoiceLine.school_id == school_id)
            ),
        ),
    )


def school_invoices(
    school_id: int | None, status: InvoiceStatus | None = None, *, trust_id: int | None = None
) -> sa.Select:
    """The school's invoices (or every trust school's, with `trust_id`), newest first (a
    statement for pagination)."""
    stmt = (
        sa.select(Invoice)
        .where(_of_schools(school_id, trust_id))
        .options(selectinload(Invoice.school), selectinload(Invoice.trust))
    )
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    return stmt.order_by(Invoice.created_at.desc(), Invoice.id.desc())


def all_invoices(status: InvoiceStatus | None = None) -> sa.Select:
    """Every school's invoices, newest first (a statement for pagination)."""
    stmt = sa.select(Invoice).options(selectinload(Invoice.school), selectinload(Invoice.trust))
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
        ).where(_payable_by(school_id, trust_id), Invoice.status == InvoiceStatus.OPEN)
    )
    return int(value or 0)


@dataclass(frozen=True)
class SchoolShare:
    """A school's part of its trust's invoice: its own lines, and their net, VAT and total."""

    lines: list[InvoiceLine]

    @property
    def net_pence(self) -> int:
        return sum(line.amount_pence for line in self.lines)

    @property
    def vat_pence(self) -> int:
        return sum(line.vat_pence for line in self.lines)

    @property
    def total_pence(self) -> int:
        return self.net_pence + self.vat_pence

    @property
    def po_number(self) -> str:
        """The school's own purchase-order numbers on its lines (not the other schools')."""
        return ", ".join(
            sorted({ln.order.po_number for ln in self.lines if ln.order and ln.order.po_number})
        )


def school_share(invoice: Invoice, school_id: int) -> SchoolShare:
    """The lines of `invoice` that are for the school."""
    return SchoolShare([line for line in invoice.lines if line.school_id == school_id])


def school_shares(invoice_ids: list[int], school_id: int) -> dict[int, int]:
    """For a school's list: its total (with VAT) on each of these invoices, by invoice id."""
    if not invoice_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            InvoiceLine.invoice_id,
            sa.func.sum(InvoiceLine.amount_pence + InvoiceLine.vat_pence),
        )
        .where(InvoiceLine.invoice_id.in_(invoice_ids), InvoiceLine.school_id == school_id)
        .group_by(InvoiceLine.invoice_id)
    )
    return {invoice_id: int(total or 0) for invoice_id, total in rows}
