"""Invoices: the year's by kind, a school's still to pay, and what a provider is owed."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.calendar import AcademicYear
from app.dashboards.table import COUNT, DATE, MONEY, Column, Table, as_int
from app.extensions import db
from marketplace.billing import payables
from marketplace.billing.labels import INVOICE_STATUS_LABELS, OVERDUE_TEXT
from marketplace.billing.models import INVOICE_KIND_LABELS, Invoice, InvoiceKind, InvoiceStatus

# An unpaid invoice's status in invoices_due: the invoice pages' words, past its due date or not.
OVERDUE = OVERDUE_TEXT
DUE = INVOICE_STATUS_LABELS[InvoiceStatus.OPEN]


def billing_summary(year: AcademicYear, today: date) -> Table:
    """The year's invoices, by kind: billed, paid, still to pay and overdue."""
    billed = Invoice.total_pence - Invoice.credited_pence
    left = sa.case(
        (Invoice.status == InvoiceStatus.OPEN, billed - Invoice.amount_paid_pence), else_=0
    )
    overdue = sa.case((Invoice.due_on < today, left), else_=0)
    stmt = (
        sa.select(
            Invoice.kind,
            sa.func.count(Invoice.id),
            sa.func.sum(billed),
            sa.func.sum(Invoice.amount_paid_pence),
            sa.func.sum(left),
            sa.func.sum(overdue),
        )
        .where(
            Invoice.status.in_([InvoiceStatus.OPEN, InvoiceStatus.PAID]),
            # The year's membership ("2026/27") and its terms' orders ("2026-autumn").
            Invoice.period.like(f"{year.start_year}%"),
        )
        .group_by(Invoice.kind)
    )
    found = {InvoiceKind(kind): values for kind, *values in db.session.execute(stmt)}
    rows = tuple(
        (INVOICE_KIND_LABELS[kind], *(as_int(v) for v in found[kind]))
        for kind in InvoiceKind
        if kind in found
    )
    return Table(
        "billing",
        f"Invoices for {year.label}",
        (
            Column("Invoices for"),
            Column("Invoices", COUNT),
            Column("Billed", MONEY),
            Column("Paid", MONEY),
            Column("Still to pay", MONEY),
            Column("Overdue", MONEY),
        ),
        rows,
        "Issued invoices for the year's membership and for orders and call-offs in its terms "
        "(not drafts or voided ones), including VAT, less credit notes.",
    )


def invoices_due(school_id: int, today: date) -> Table:
    """The school's unpaid invoices, overdue first."""
    due = Invoice.total_pence - Invoice.credited_pence - Invoice.amount_paid_pence
    stmt = (
        sa.select(Invoice.id, Invoice.number, Invoice.title, Invoice.due_on, due)
        .where(
            Invoice.school_id == school_id,
            Invoice.status == InvoiceStatus.OPEN,
            due > 0,
        )
        .order_by(Invoice.due_on, Invoice.id)
    )
    rows = tuple(
        (
            number or f"Invoice {invoice_id}",
            title,
            due_on,
            as_int(amount),
            OVERDUE if due_on is not None and due_on < today else DUE,
        )
        for invoice_id, number, title, due_on, amount in db.session.execute(stmt)
    )
    return Table(
        "invoices-due",
        "Invoices to pay",
        (
            Column("Invoice"),
            Column("For"),
            Column("Due by", DATE),
            Column("Left to pay", MONEY),
            Column("Status"),
        ),
        rows,
        "Issued invoices not yet paid in full, less any credit notes.",
    )


def owed(provider_id: int) -> Table:
    """What the partnership owes the provider, term by term, less its fee."""
    ledger = payables.ledger(payables.fee_bp(), provider_id=provider_id)
    rows = tuple(
        (row.period_label, row.orders, row.gross_pence, row.fee_pence, row.owed_pence)
        for row in ledger
    )
    return Table(
        "owed",
        "What the partnership owes you",
        (
            Column("Term"),
            Column("Orders", COUNT),
            Column("Delivered work", MONEY),
            Column("Partnership fee", MONEY),
            Column("Owed to you", MONEY),
        ),
        rows,
        f"Delivered orders and call-offs less the partnership's {payables.fee_bp() / 100:g}% fee.",
    )
