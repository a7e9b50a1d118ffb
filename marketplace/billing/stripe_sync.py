"""Issuing our invoices and credit notes through Stripe, and taking back what Stripe says.

Each invoice without its Stripe ids is sent to Stripe with idempotency keys derived from our
ids (`…-invoice-{id}-create`, `…-invoice-{id}-item-{line_id}`, `…-school-{id}-customer`); each
id is stored as soon as Stripe answers. A rerun resumes from the first id missing; a repeated
request returns Stripe's first answer instead of creating a second object, and an object an
earlier, killed run may have made is first looked up in Stripe by our metadata (Stripe keeps
idempotency keys for 24 hours only). Stripe is reached only through the adapter,
`marketplace.billing.stripe_gateway`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app import audit
from app.extensions import db, rows_changed
from app.models import School, Trust, User
from app.money import format_pence
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.billing import rules
from marketplace.billing.invoicing import NOT_SENT_WITHOUT_STRIPE
from marketplace.billing.models import (
    BillingCustomer,
    CreditNote,
    CreditNoteStatus,
    Invoice,
    InvoiceStatus,
)
from marketplace.billing.state import namespace
from marketplace.billing.stripe_gateway import GatewayError, IdempotencyConflict, StripeGateway
from marketplace.billing.stripe_objects import StripeInvoice

FOOTER = (
    "Please pay by BACS within {days} days, quoting the invoice number and your purchase-order "
    "number."
)


def needs_push() -> sa.Select:
    """Invoices Stripe has not fully got yet: no Stripe id, not finalised, or not sent."""
    return sa.select(Invoice).where(
        Invoice.status.in_([InvoiceStatus.DRAFT, InvoiceStatus.OPEN]),
        sa.or_(
            Invoice.stripe_invoice_id.is_(None),
            Invoice.status == InvoiceStatus.DRAFT,
            sa.and_(Invoice.sent_at.is_(None), Invoice.not_sent_reason == ""),
        ),
    )


def record_error(model: type[Invoice] | type[CreditNote], row_id: int, message: str) -> None:
    """Keep why Stripe refused an invoice or credit note on its row, in a commit of its own."""
    db.session.execute(sa.update(model).where(model.id == row_id).values(last_error=message[:2000]))
    db.session.commit()


def _stripe_description(invoice: Invoice) -> str:
    parts = [invoice.title]
    if invoice.note:
        parts.append(invoice.note)
    return "\n\n".join(parts)[:5000]


class StripeSync:
    """Issues invoices and credit notes through the Stripe gateway it is handed.

    It keeps, for its lifetime, this database's namespace and the Stripe ids of the VAT rates
    it has used, so a run asks for each once.
    """

    def __init__(self, gateway: StripeGateway, *, days_to_pay: int = rules.DAYS_TO_PAY) -> None:
        self.gateway = gateway
        self.days_to_pay = days_to_pay
        self._namespace: str | None = None
        self._vat_rates: dict[int, str] = {}

    @property
    def namespace(self) -> str:
        if self._namespace is None:
            self._namespace = namespace()
        return self._namespace

    def vat_rate_id(self, rate_bp: int) -> str:
        """Stripe's id for a VAT rate, made once (looked up first)."""
        if rate_bp not in self._vat_rates:
            self._vat_rates[rate_bp] = self.gateway.find_or_create_vat_rate(
                rate_bp, idempotency_key=rules.tax_rate_key(self.namespace, rate_bp)
            )
        return self._vat_rates[rate_bp]

    def ensure_customer(self, school_id: int, *, resumed: bool = True) -> tuple[str, bool]:
        """The school's Stripe customer id, made once; the caller commits.

        Returns the id and whether it had to be made (or found) now. `resumed` says an earlier
        attempt may have made it in Stripe without our storing its id: it is looked up by our
        metadata first (as well as the idempotency key, which Stripe keeps for 24 hours only).
        """
        customer = db.session.scalar(
            sa.select(BillingCustomer).where(BillingCustomer.school_id == school_id)
        )
        if customer is not None and customer.stripe_customer_id:
            return customer.stripe_customer_id, False
        school = db.session.get(School, school_id)
        assert school is not None
        metadata = {"pooled_school": f"{self.namespace}:{school_id}", "urn": str(school.urn)}
        found = None
        if resumed:
            found = self.gateway.find_customer(email=school.finance_email, metadata=metadata)
        if found is None:
            try:
                found = self.gateway.create_customer(
                    name=school.name,
                    email=school.finance_email,
                    metadata=metadata,
                    idempotency_key=rules.customer_key(self.namespace, school_id),
                )
            except IdempotencyConflict:
                # The school's details changed since a first attempt: find what that made.
                found = self.gateway.find_customer(email="", metadata=metadata)
                if found is None:
                    raise
        if customer is None:
            customer = BillingCustomer(school_id=school_id, email=school.finance_email)
            db.session.add(customer)
        customer.stripe_customer_id = found
        return found, True

    def ensure_trust_customer(self, trust_id: int, *, resumed: bool = True) -> tuple[str, bool]:
        """The Stripe customer of a trust invoiced once, made once (as `ensure_customer`, with
        the idempotency key `…-trust-{id}-customer`); the caller commits."""
        customer = db.session.scalar(
            sa.select(BillingCustomer).where(BillingCustomer.trust_id == trust_id)
        )
        if customer is not None and customer.stripe_customer_id:
            return customer.stripe_customer_id, False
        trust = db.session.get(Trust, trust_id)
        assert trust is not None
        metadata = {"pooled_trust": f"{self.namespace}:{trust_id}", "trust_code": trust.code}
        found = None
        if resumed:
            found = self.gateway.find_customer(email=trust.finance_email, metadata=metadata)
        if found is None:
            try:
                found = self.gateway.create_customer(
                    name=trust.name,
                    email=trust.finance_email,
                    metadata=metadata,
                    idempotency_key=rules.trust_customer_key(self.namespace, trust_id),
                )
            except IdempotencyConflict:
                found = self.gateway.find_customer(email="", metadata=metadata)
                if found is None:
                    raise
        if customer is None:
            customer = BillingCustomer(trust_id=trust_id, email=trust.finance_email)
            db.session.add(customer)
        customer.stripe_customer_id = found
        return found, True

    def ensure_payer(self, invoice: Invoice, *, resumed: bool) -> tuple[str, bool]:
        """The Stripe customer the invoice is billed to: its trust's or its school's."""
        if invoice.trust_id is not None:
            return self.ensure_trust_customer(invoice.trust_id, resumed=resumed)
        assert invoice.school_id is not None
        return self.ensure_customer(invoice.school_id, resumed=resumed)

    def push_invoice(self, invoice_id: int, *, run_id: int | None = None) -> int:
        """Take one invoice as far as Stripe allows: created, lines, finalised, sent.

        What Stripe returns is stored as soon as each step is done (three commits: the
        invoice's id, its lines' ids, then finalised and sent), so a rerun resumes from the
        first missing id; every create carries an idempotency key from our ids, and an invoice
        an earlier run started is first looked up in Stripe by our metadata. Returns 1 if the
        school's Stripe customer was made for it.
        """
        invoice = db.session.get(Invoice, invoice_id)
        if invoice is None or invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.OPEN):
            return 0
        ns = self.namespace
        if invoice.not_sent_reason == NOT_SENT_WITHOUT_STRIPE:
            invoice.not_sent_reason = ""  # issued here before Stripe was configured: send it now
        # Written by this very run: nobody has tried to issue it before.
        resumed = run_id is None or invoice.billing_run_id != run_id
        customer_id, made = self.ensure_payer(invoice, resumed=resumed)
        if invoice.stripe_invoice_id is None:
            metadata = {
                "pooled_invoice": f"{ns}:{invoice.id}",
                "billing_key": invoice.billing_key,
            }
            if invoice.trust is not None:
                metadata["trust_code"] = invoice.trust.code
            elif invoice.school is not None:
                metadata["urn"] = str(invoice.school.urn)
            found = None
            if resumed:
                found = self.gateway.find_invoice(customer_id=customer_id, metadata=metadata)
            if found is None:
                found = self.gateway.create_invoice(
                    customer_id=customer_id,
                    description=_stripe_description(invoice),
                    footer=FOOTER.format(days=self.days_to_pay),
                    po_number=invoice.po_number,
                    days_until_due=self.days_to_pay,
                    metadata=metadata,
                    idempotency_key=rules.invoice_create_key(ns, invoice.id),
                )
            invoice.stripe_invoice_id = found.id
            invoice.stripe_customer_id = customer_id
            db.session.commit()
            remote = found
        else:
            if made:
                db.session.commit()
            remote = self.gateway.retrieve_invoice(invoice.stripe_invoice_id)
            resumed = True
        if remote.status == "draft":
            self.push_lines(invoice, customer_id, resumed)
            remote = self.gateway.finalize_invoice(
                remote.id, idempotency_key=rules.invoice_finalize_key(ns, invoice.id)
            )
        apply_remote(invoice.id, remote, source="billing run")
        if remote.total != invoice.total_pence:
            message = (
                f"Stripe's total {format_pence(remote.total)} differs from ours "
                f"{format_pence(invoice.total_pence)}: check the invoice."
            )
            invoice.last_error = message
            db.session.commit()
            raise GatewayError(message)
        if invoice.sent_at is None and not invoice.not_sent_reason and remote.status == "open":
            if invoice.payer_email:
                self.gateway.send_invoice(
                    remote.id, idempotency_key=rules.invoice_send_key(ns, invoice.id)
                )
                invoice.sent_at = utcnow()
            else:
                payer = "trust" if invoice.trust_id is not None else "school"
                invoice.not_sent_reason = (
                    f"The {payer} has no finance email address: send the invoice by hand."
                )
        invoice.last_error = ""
        db.session.commit()
        return 1 if made else 0

    def push_lines(self, invoice: Invoice, customer_id: str, resumed: bool) -> None:
        """Add the invoice's lines to its Stripe draft; their ids are committed together."""
        assert invoice.stripe_invoice_id is not None
        ns = self.namespace
        pending = [ln for ln in invoice.lines if ln.stripe_invoice_item_id is None]
        existing: dict[str, str] = {}
        if pending and resumed:
            existing = self.gateway.invoice_item_ids(invoice.stripe_invoice_id, "pooled_line")
        for line in pending:
            item_id = existing.get(f"{ns}:{line.id}")
            if item_id is None:
                item_id = self.gateway.add_invoice_item(
                    customer_id=customer_id,
                    invoice_id=invoice.stripe_invoice_id,
                    description=line.description,
                    quantity=line.quantity,
                    unit_pence=line.unit_pence,
                    tax_rate_ids=[self.vat_rate_id(line.vat_rate_bp)] if line.vat_rate_bp else [],
                    metadata={"pooled_line": f"{ns}:{line.id}"},
                    idempotency_key=rules.invoice_item_key(ns, invoice.id, line.id),
                )
            line.stripe_invoice_item_id = item_id
        for line in invoice.lines:
            if line.stripe_invoice_item_id and line.stripe_outdated:
                # A credit reduced this line while the invoice was a draft.
                self.gateway.update_invoice_item(
                    line.stripe_invoice_item_id,
                    quantity=line.quantity,
                    unit_pence=line.unit_pence,
                    description=line.description,
                )
                line.stripe_outdated = False
        db.session.commit()

    def push_credit_note(self, note_id: int) -> bool:
        """Issue a pending credit note in Stripe once its invoice is there; True if issued."""
        note = db.session.get(CreditNote, note_id)
        if note is None or note.status is not CreditNoteStatus.PENDING:
            return False
        invoice = note.invoice
        if invoice.stripe_invoice_id is None or invoice.status not in (
            InvoiceStatus.OPEN,
            InvoiceStatus.PAID,
        ):
            return False
        ns = self.namespace
        metadata = {"pooled_credit_note": f"{ns}:{note.id}", "order": str(note.order_id or "")}
        try:
            remote = self.gateway.create_credit_note(
                invoice_id=invoice.stripe_invoice_id,
                description=note.reason or f"Credit on invoice {invoice.reference}",
                net_pence=note.net_pence,
                tax_rate_ids=[self.vat_rate_id(note.vat_rate_bp)] if note.vat_rate_bp else [],
                total_pence=note.total_pence,
                memo=note.reason,
                metadata=metadata,
                idempotency_key=rules.credit_note_key(ns, note.id),
            )
        except IdempotencyConflict:
            # The invoice changed between attempts (e.g. it was paid): find what was issued.
            found = self.gateway.find_credit_note(
                invoice_id=invoice.stripe_invoice_id, metadata=metadata
            )
            if found is None:
                raise
            remote = found
        note.stripe_credit_note_id = remote.id
        note.number = remote.number
        note.status = CreditNoteStatus.ISSUED
        note.issued_at = utcnow()
        note.last_error = ""
        audit.record(
            None,
            "credit_note",
            note.id,
            "issued",
            after={"stripe": remote.id},
            scope=f"school:{note.school_id}",
        )
        db.session.commit()
        return True


def apply_remote(
    invoice_id: int, remote: StripeInvoice, *, source: str, actor: User | None = None
) -> str:
    """Bring our invoice up to what Stripe says, moving its status only forward.

    The status changes with one conditional UPDATE, so a webhook and a run (or two
    webhook deliveries) racing each other can never move it backwards. The caller commits.
    """
    invoice = db.session.get(Invoice, invoice_id, populate_existing=True)
    assert invoice is not None
    if remote.status not in rules.STATUS_RANK:
        return f"ignored: Stripe status {remote.status!r}"
    before = invoice.snapshot()
    if invoice.stripe_invoice_id is None:
        invoice.stripe_invoice_id = remote.id
    # An older snapshot (a late or replayed event) must not undo newer details.
    if rules.STATUS_RANK.get(remote.status, 0) >= rules.STATUS_RANK[invoice.status.value]:
        if remote.number:
            invoice.number = remote.number
        if remote.due_on and remote.status != "draft":
            invoice.due_on = remote.due_on
        if remote.hosted_invoice_url:
            invoice.hosted_invoice_url = remote.hosted_invoice_url
    db.session.flush()
    values: dict[str, Any] = {}
    if remote.status in ("open", "paid", "uncollectible", "void"):
        values["issued_at"] = sa.func.coalesce(Invoice.issued_at, sa.literal(utcnow(), UTCDateTime))
    if remote.status == "paid":
        values["paid_at"] = remote.paid_at or utcnow()
        values["amount_paid_pence"] = remote.amount_paid
    if remote.status == "void":
        values["voided_at"] = remote.voided_at or utcnow()
    outcome = "no change"
    target = rules.advance(before["status"], remote.status)
    if target != before["status"]:
        lower = [s for s, rank in rules.STATUS_RANK.items() if rank < rules.STATUS_RANK[target]]
        changed = rows_changed(
            sa.update(Invoice)
            .where(Invoice.id == invoice_id, Invoice.status.in_(lower))
            .values(status=target, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        if changed == 1:
            db.session.refresh(invoice)
            audit.record(
                actor,
                "invoice",
                invoice.id,
                target,
                before=before,
                after={**invoice.snapshot(), "source": source},
                scope=invoice.scope,
            )
            outcome = f"{before['status']} → {target}"
    elif remote.status != invoice.status.value:
        outcome = f"no change: already {invoice.status.value}, Stripe said {remote.status}"
    return outcome
