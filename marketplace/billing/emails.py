"""Who is emailed about billing: a school's SBMs (a trust's finance leads, for a trust
invoiced once) when an invoice is issued here and when it is overdue (Stripe sends its own
invoices and reminders when it is configured); provider users when what they are owed for a
term that has ended is ready."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.calendar import Term
from app.extensions import db
from app.models import Role, User
from app.money import format_pence
from app.notifications.rendering import link
from app.notifications.services import notify
from app.time import format_date, london_today
from app.use_case import use_case
from marketplace.billing import payables
from marketplace.billing.models import Invoice, InvoiceStatus

# A term's payables are announced on the mornings of this many days after it ends (once).
PAYABLES_WINDOW = timedelta(days=14)


def _school_sbms(school_id: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.school_id == school_id, User.role == Role.SBM, User.active.is_(True))
            .order_by(User.id)
        )
    )


def _trust_leads(trust_id: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.trust_id == trust_id, User.role == Role.TRUST, User.active.is_(True))
            .order_by(User.id)
        )
    )


def _payers(invoice: Invoice) -> list[User]:
    """Who hears of an invoice: the trust's finance leads for a trust's invoice, else the
    school's SBMs."""
    if invoice.trust_id is not None:
        return _trust_leads(invoice.trust_id)
    assert invoice.school_id is not None
    return _school_sbms(invoice.school_id)


def _invoice_notice(invoice: Invoice, what: str, subject: str, template: str) -> int:
    return len(
        notify(
            "invoice",
            _payers(invoice),
            event=f"invoice-{invoice.id}-{what}",
            template=template,
            subject=subject,
            link=link("marketplace.invoice_detail", invoice_id=invoice.id),
            about=("invoice", invoice.id),
            summary=f"{format_pence(invoice.total_pence)}, due {format_date(invoice.due_on)}",
            invoice=invoice,
            total=format_pence(invoice.total_pence - invoice.credited_pence),
            due_on=format_date(invoice.due_on),
        )
    )


def invoice_issued(invoice: Invoice) -> None:
    """An invoice issued here (no Stripe): the school's SBMs get it."""
    _invoice_notice(
        invoice, "issued", f"Invoice {invoice.number}: {invoice.title}", "invoice_issued"
    )


@use_case
def send_overdue_notices(today: date | None = None) -> int:
    """Every morning: invoices issued here that are open past their due date; how many
    people were told (once per invoice)."""
    today = today or london_today()
    overdue = db.session.scalars(
        sa.select(Invoice)
        .where(
            Invoice.status == InvoiceStatus.OPEN,
            Invoice.stripe_invoice_id.is_(None),
            Invoice.due_on < today,
        )
        .order_by(Invoice.id)
    ).all()
    told = 0
    for invoice in overdue:
        told += _invoice_notice(
            invoice, "overdue", f"Invoice {invoice.number} is overdue", "invoice_overdue"
        )
    db.session.commit()
    return told


@use_case
def send_payables_ready(today: date | None = None) -> int:
    """Every morning: for terms that ended in the last two weeks, tell each provider's users
    what the partnership owes them for the term (once per provider and term)."""
    today = today or london_today()
    rows = []
    for row in payables.ledger(payables.fee_bp()):
        try:
            term = Term.parse(row.period)
        except ValueError:
            continue
        if term.ends_on < today <= term.ends_on + PAYABLES_WINDOW:
            rows.append(row)
    told = 0
    for row in rows:
        users = db.session.scalars(
            sa.select(User)
            .where(
                User.provider_id == row.provider_id,
                User.role == Role.PROVIDER,
                User.active.is_(True),
            )
            .order_by(User.id)
        ).all()
        written = notify(
            "payables_ready",
            users,
            event=f"payables-{row.provider_id}-{row.period}",
            template="payables_ready",
            subject=f"What you are owed for {row.period_label}",
            link=link("marketplace.provider_payables"),
            about=("provider", row.provider_id),
            summary=f"{format_pence(row.owed_pence)} for {row.orders} orders",
            row=row,
            gross=format_pence(row.gross_pence),
            fee=format_pence(row.fee_pence),
            owed=format_pence(row.owed_pence),
        )
        told += len(written)
    db.session.commit()
    return told
