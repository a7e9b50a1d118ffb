"""Billing: invoices and their lines, credit notes, Stripe customers and events, billing runs.

Our rows are written (and committed) before Stripe is called; Stripe ids are stored on them
once Stripe answers, so a run that stops half-way resumes from the rows still without one.
Double billing is impossible by construction: a membership, an order or a call-off can be on
one invoice line only (unique `membership_id` and `order_id`), and each invoice has a unique
`billing_key` saying what it bills.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import Membership, School, Trust, User, enum_column
from app.statuses import status_label
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.orders.models import Order


class InvoiceKind(StrEnum):
    MEMBERSHIP = "membership"  # the year's per-pupil subscription
    ORDER = "order"  # one traded-service order, once delivered
    CALL_OFF = "call-off"  # a school's call-offs under awarded contracts for one term

    @property
    def label(self) -> str:
        return INVOICE_KIND_LABELS[self]


INVOICE_KIND_LABELS = {
    InvoiceKind.MEMBERSHIP: "Membership",
    InvoiceKind.ORDER: "Traded service",
    InvoiceKind.CALL_OFF: "Contract call-offs",
}


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"

    @property
    def label(self) -> str:
        """The words of the one vocabulary (marketplace/billing/labels.py)."""
        return status_label(self) or self.value


class Invoice(Model):
    """A bill to one school, or to a trust invoiced once for all its schools (each line then
    names its school), in pence; `total_pence` = `net_pence` + `vat_pence`."""

    __tablename__ = "invoices"
    __table_args__ = (
        sa.CheckConstraint("(school_id IS NULL) <> (trust_id IS NULL)", name="one_payer"),
        sa.CheckConstraint("net_pence >= 0 AND vat_pence >= 0", name="amounts_not_negative"),
        sa.CheckConstraint("total_pence = net_pence + vat_pence", name="total_is_net_plus_vat"),
        sa.CheckConstraint("credited_pence >= 0", name="credited_not_negative"),
        sa.Index("ix_invoices_school_created", "school_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Who pays: a school, or a trust that chose to be invoiced once (never both).
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    trust_id: Mapped[int | None] = mapped_column(sa.ForeignKey("trusts.id"), index=True)
    kind: Mapped[InvoiceKind] = enum_column(InvoiceKind)
    # Membership: the academic year ("2026/27"); orders and call-offs: the term ("2026-autumn").
    period: Mapped[str] = mapped_column(sa.String(20), index=True)
    # What this invoice bills, e.g. "membership-12", "order-40", "call-offs-3-2026-autumn",
    # "trust-2-run-7" (a trust's invoice for one billing run).
    billing_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    status: Mapped[InvoiceStatus] = enum_column(
        InvoiceStatus, default=InvoiceStatus.DRAFT, index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    # Shown on the invoice under the lines, e.g. the subscription's working and council match.
    note: Mapped[str] = mapped_column(sa.Text, default="")
    po_number: Mapped[str] = mapped_column(sa.String(140), default="")
    net_pence: Mapped[int] = mapped_column(default=0)
    vat_pence: Mapped[int] = mapped_column(default=0)
    total_pence: Mapped[int] = mapped_column(default=0)
    credited_pence: Mapped[int] = mapped_column(default=0)
    amount_paid_pence: Mapped[int] = mapped_column(default=0)
    number: Mapped[str | None] = mapped_column(sa.String(60))
    due_on: Mapped[date | None]
    billing_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("billing_runs.id"))
    # Stripe: ids stored once Stripe has answered; a row without them is resumed by the next run.
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255))
    stripe_invoice_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    hosted_invoice_url: Mapped[str | None] = mapped_column(sa.String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_sent_reason: Mapped[str] = mapped_column(sa.String(300), default="")
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    school: Mapped[School | None] = relationship()
    trust: Mapped[Trust | None] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.id", cascade="all, delete-orphan"
    )
    credit_notes: Mapped[list[CreditNote]] = relationship(
        back_populates="invoice", order_by="CreditNote.id"
    )

    @property
    def amount_due_pence(self) -> int:
        """What the school still has to pay: nothing once paid, void or written off."""
        if self.status in (InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE):
            return 0
        return max(0, self.total_pence - self.credited_pence - self.amount_paid_pence)

    @property
    def reference(self) -> str:
        """The invoice number once issued, else our own id."""
        return self.number or f"Draft {self.id}"

    @property
    def payer_name(self) -> str:
        """Whom the invoice is addressed to: the trust's name, or the school's."""
        if self.trust is not None:
            return self.trust.name
        return self.school.name if self.school is not None else ""

    @property
    def payer_email(self) -> str:
        """Where the invoice is sent: the trust's or the school's finance email address."""
        if self.trust is not None:
            return self.trust.finance_email
        return self.school.finance_email if self.school is not None else ""

    @property
    def scope(self) -> str:
        """The audit scope of the invoice's payer."""
        return f"trust:{self.trust_id}" if self.trust_id is not None else f"school:{self.school_id}"

    def snapshot(self) -> dict[str, Any]:
        """The fields an audit event records."""
        return {
            "status": self.status.value,
            "total_pence": self.total_pence,
            "credited_pence": self.credited_pence,
            "stripe_invoice_id": self.stripe_invoice_id,
        }


class InvoiceLine(Model):
    """One line of an invoice; a membership or an order can be billed on one line only, ever."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("amount_pence >= 0 AND vat_pence >= 0", name="amounts_not_negative"),
        sa.CheckConstraint("vat_rate_bp >= 0 AND vat_rate_bp <= 10000", name="vat_rate_in_range"),
        sa.CheckConstraint("membership_id IS NULL OR order_id IS NULL", name="bills_one_thing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    # The school the line is for (on a trust's invoice, each line names its own school).
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    # The unique constraints that make double billing impossible.
    membership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("memberships.id"), unique=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), unique=True)
    description: Mapped[str] = mapped_column(sa.String(500))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_pence: Mapped[int]
    # Net of VAT, after any credit made while the invoice was still a draft.
    amount_pence: Mapped[int]
    vat_rate_bp: Mapped[int] = mapped_column(default=0)
    vat_pence: Mapped[int] = mapped_column(default=0)
    stripe_invoice_item_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    # Changed here (a credit on a draft) since it was sent: the next push updates Stripe's line.
    stripe_outdated: Mapped[bool] = mapped_column(default=False)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    school: Mapped[School] = relationship()
    membership: Mapped[Membership | None] = relationship()
    order: Mapped[Order | None] = relationship()

    @property
    def total_pence(self) -> int:
        return self.amount_pence + self.vat_pence


class CreditNoteStatus(StrEnum):
    PENDING = "pending"  # written here; not yet issued in Stripe
    ISSUED = "issued"  # issued in Stripe, or locally when Stripe is not configured
    APPLIED_TO_DRAFT = "applied-to-draft"  # the draft invoice was reduced instead
    VOID = "void"


class CreditNote(Model):
    """Money given back on an invoice, e.g. for an order cancelled after it was billed."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        sa.CheckConstraint("net_pence > 0 AND vat_pence >= 0", name="amounts_valid"),
        sa.CheckConstraint("total_pence = net_pence + vat_pence", name="total_is_net_plus_vat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    # One credit per cancelled order.
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), unique=True)
    invoice_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invoice_lines.id"))
    status: Mapped[CreditNoteStatus] = enum_column(
        CreditNoteStatus, default=CreditNoteStatus.PENDING
    )
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    net_pence: Mapped[int]
    vat_rate_bp: Mapped[int] = mapped_column(default=0)
    vat_pence: Mapped[int] = mapped_column(default=0)
    total_pence: Mapped[int]
    # How the money goes back: off the amount due (open invoice), to the school's account
    # balance for its next invoice (paid invoice), or off a draft.
    settlement: Mapped[str] = mapped_column(sa.String(30), default="")
    number: Mapped[str | None] = mapped_column(sa.String(60))
    stripe_credit_note_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invoice: Mapped[Invoice] = relationship(back_populates="credit_notes")
    created_by: Mapped[User | None] = relationship()


class BillingCustomer(Model):
    """A school, or a trust invoiced once, as a Stripe customer: one each, its id stored once
    Stripe answers."""

    __tablename__ = "billing_customers"
    __table_args__ = (
        sa.CheckConstraint("(school_id IS NULL) <> (trust_id IS NULL)", name="one_payer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schools.id"), unique=True)
    trust_id: Mapped[int | None] = mapped_column(sa.ForeignKey("trusts.id"), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    school: Mapped[School | None] = relationship()


class StripeEvent(Model):
    """A Stripe event we have processed: inserted in the same transaction as its effects."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    object_id: Mapped[str] = mapped_column(sa.String(255), default="", index=True)
    stripe_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(sa.String(20), default="webhook")  # or "reconcile"
    outcome: Mapped[str] = mapped_column(sa.String(300), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class BillingRunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class BillingRun(Model):
    """One run of `flask billing run` (or the admin page's button), with its progress."""

    __tablename__ = "billing_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[BillingRunStatus] = enum_column(
        BillingRunStatus, default=BillingRunStatus.RUNNING
    )
    as_of: Mapped[date]
    stripe_configured: Mapped[bool] = mapped_column(default=False)
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # "host:pid" of the process doing the work, so a run whose process died is seen as stopped.
    runner: Mapped[str] = mapped_column(sa.String(200), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invoices_created: Mapped[int] = mapped_column(default=0)
    # Invoices (and credit notes) this run had to send to Stripe, and how many it has sent.
    to_push: Mapped[int] = mapped_column(default=0)
    pushed: Mapped[int] = mapped_column(default=0)
    customers_created: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(sa.Text, default="")

    started_by: Mapped[User | None] = relationship()


class BillingState(Model):
    """Small named values billing keeps: the reconciliation cursors, Stripe tax-rate ids."""

    __tablename__ = "billing_state"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
