"""Credits for orders cancelled after they were billed: the right amount, once, in Stripe too."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import stripe

from app.extensions import db
from marketplace.billing import invoicing, runs
from marketplace.billing.credits import credit_cancelled_order
from marketplace.billing.models import CreditNote, CreditNoteStatus, Invoice, InvoiceStatus
from marketplace.billing.queries import invoice_for_order
from marketplace.billing.state import namespace
from marketplace.billing.stripe_gateway import StripeGateway
from marketplace.billing.stripe_sync import StripeSync, apply_remote
from marketplace.orders.models import OrderStatus
from tests import factories
from tests.marketplace.billing.conftest import make_order, standard_rated_service


def bill(gateway: StripeGateway | None) -> runs.RunReport:
    run = runs.start_run(None)
    return runs.execute(run, gateway)


def cancel_billed(order, refund_pence: int, actor) -> CreditNote | None:
    """What the marketplace's cancel use case does once billing is wired in."""
    order.status = OrderStatus.CANCELLED
    note = credit_cancelled_order(order, refund_pence, actor)
    db.session.commit()
    return note


@pytest.fixture
def hr_order(world):
    """School A's order for 10 hours of standard-rated HR advice at £80 (£800 + £160 VAT)."""
    world.school_b.is_member = False
    world.school_a.finance_email = "finance@alpha.example"
    offer = factories.make_offer(world.provider_a, standard_rated_service(), tiers=[(0, 8_000)])
    return make_order(world.school_a, offer, quantity=10)


@pytest.mark.usefixtures("no_stripe")
def test_without_stripe_a_credit_note_is_issued_here_and_reduces_what_is_due(
    world, hr_order
) -> None:
    bill(None)
    invoice = invoice_for_order(hr_order.id)
    assert invoice.amount_due_pence == 96_000

    note = cancel_billed(hr_order, 30_000, world.sbm_a)

    assert note is not None
    assert (note.net_pence, note.vat_pence, note.total_pence) == (30_000, 6_000, 36_000)
    assert note.status is CreditNoteStatus.ISSUED
    assert note.number == f"PLD-CN-{note.id:06d}"
    assert note.settlement == "off-amount-due"
    db.session.refresh(invoice)
    assert invoice.credited_pence == 36_000
    assert invoice.amount_due_pence == 60_000


@pytest.mark.usefixtures("no_stripe")
def test_cancelling_twice_credits_once_and_never_more_than_the_line(world, hr_order) -> None:
    bill(None)

    first = cancel_billed(hr_order, 999_999, world.sbm_a)  # more than the order: capped
    second = cancel_billed(hr_order, 1_000, world.sbm_a)

    assert first is not None and second is not None and first.id == second.id
    assert first.net_pence == 80_000
    assert db.session.scalar(sa.select(sa.func.count(CreditNote.id))) == 1
    invoice = invoice_for_order(hr_order.id)
    assert invoice.amount_due_pence == 0


@pytest.mark.usefixtures("no_stripe")
def test_nothing_is_credited_for_an_order_never_billed_or_a_void_invoice(world, hr_order):
    assert cancel_billed(hr_order, 10_000, world.sbm_a) is None  # not billed yet

    other = make_order(world.school_a, world.offer_a, quantity=2)
    bill(None)
    invoice = invoice_for_order(other.id)
    invoice.status = InvoiceStatus.VOID
    db.session.commit()
    assert cancel_billed(other, 10_000, world.sbm_a) is None
    assert cancel_billed(other, 0, world.sbm_a) is None


@pytest.mark.usefixtures("stripe_config")
def test_a_credit_on_an_open_invoice_is_issued_in_stripe_and_comes_off_what_is_due(
    world, hr_order, gateway: StripeGateway, client_stripe: stripe.StripeClient
) -> None:
    bill(gateway)
    invoice = invoice_for_order(hr_order.id)

    note = cancel_billed(hr_order, 25_000, world.sbm_a)
    assert note.status is CreditNoteStatus.PENDING

    report = bill(gateway)

    assert report.credit_notes_issued == 1 and report.failures == []
    db.session.refresh(note)
    assert note.status is CreditNoteStatus.ISSUED and note.stripe_credit_note_id
    theirs = client_stripe.v1.credit_notes.retrieve(note.stripe_credit_note_id)
    assert (theirs.subtotal, theirs.total) == (25_000, 30_000)
    remote_invoice = client_stripe.v1.invoices.retrieve(invoice.stripe_invoice_id)
    assert remote_invoice.amount_remaining == 96_000 - 30_000
    db.session.refresh(invoice)
    assert invoice.amount_due_pence == remote_invoice.amount_remaining

    assert bill(gateway).credit_notes_issued == 0  # issued once


@pytest.mark.usefixtures("stripe_config")
def test_a_credit_on_a_paid_invoice_goes_to_the_schools_account_in_stripe(
    world, hr_order, gateway: StripeGateway, client_stripe: stripe.StripeClient
) -> None:
    bill(gateway)
    invoice = invoice_for_order(hr_order.id)
    paid = client_stripe.v1.invoices.pay(invoice.stripe_invoice_id, {"paid_out_of_band": True})
    apply_remote(invoice.id, gateway.retrieve_invoice(paid.id), source="test")
    db.session.commit()

    note = cancel_billed(hr_order, 40_000, world.sbm_a)
    assert note.settlement == "account-credit"
    bill(gateway)

    db.session.refresh(note)
    theirs = client_stripe.v1.credit_notes.retrieve(note.stripe_credit_note_id)
    assert (theirs.total, theirs.type, theirs.post_payment_amount) == (
        48_000,
        "post_payment",
        48_000,
    )
    customer = client_stripe.v1.customers.retrieve(invoice.stripe_customer_id)
    assert customer.balance == -48_000  # owed to the school, used on its next invoice


@pytest.mark.usefixtures("stripe_config")
def test_a_credit_on_a_draft_reduces_the_invoice_before_it_is_issued(
    world, hr_order, gateway: StripeGateway, client_stripe: stripe.StripeClient
) -> None:
    run = runs.start_run(None)
    invoicing.plan(run.as_of, run.id, issue_here=False)  # written here, not yet in Stripe
    invoice = invoice_for_order(hr_order.id)
    assert invoice.status is InvoiceStatus.DRAFT

    note = cancel_billed(hr_order, 30_000, world.sbm_a)
    runs.execute(run, gateway)

    assert note.status is CreditNoteStatus.APPLIED_TO_DRAFT
    db.session.refresh(invoice)
    assert (invoice.net_pence, invoice.vat_pence, invoice.total_pence) == (50_000, 10_000, 60_000)
    assert invoice.credited_pence == 0
    theirs = client_stripe.v1.invoices.retrieve(invoice.stripe_invoice_id)
    assert theirs.total == 60_000


@pytest.mark.usefixtures("stripe_config")
def test_a_credit_on_a_draft_already_in_stripe_updates_stripes_line(
    world, hr_order, gateway: StripeGateway, client_stripe: stripe.StripeClient
) -> None:
    run = runs.start_run(None)
    invoicing.plan(run.as_of, run.id, issue_here=False)
    invoice = invoice_for_order(hr_order.id)
    # Half-way through issuing: the Stripe draft and its line exist, not yet finalised.
    sync = StripeSync(gateway)
    customer_id, _ = sync.ensure_customer(invoice.school_id)
    remote = gateway.create_invoice(
        customer_id=customer_id,
        description="x",
        footer="",
        po_number="",
        days_until_due=30,
        metadata={"pooled_invoice": f"{namespace()}:{invoice.id}"},
        idempotency_key=f"{namespace()}-invoice-{invoice.id}-create",
    )
    invoice.stripe_invoice_id = remote.id
    db.session.commit()
    sync.push_lines(invoice, customer_id, resumed=False)
    assert client_stripe.v1.invoices.retrieve(remote.id).total == 96_000

    cancel_billed(hr_order, 30_000, world.sbm_a)
    report = runs.execute(run, gateway)

    assert report.failures == []
    db.session.refresh(invoice)
    assert invoice.status is InvoiceStatus.OPEN
    assert client_stripe.v1.invoices.retrieve(remote.id).total == invoice.total_pence == 60_000
    assert invoice.lines[0].stripe_outdated is False


@pytest.mark.usefixtures("no_stripe")
def test_a_credit_shows_on_the_schools_invoice(client, auth, world, hr_order) -> None:
    bill(None)
    cancel_billed(hr_order, 30_000, world.sbm_a)
    invoice = invoice_for_order(hr_order.id)
    auth.as_user(world.sbm_a)

    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)

    assert "Credit notes" in page
    assert "£360.00" in page  # £300 + VAT
    assert "£600.00" in page  # still to pay


def test_credit_notes_are_written_in_the_callers_transaction(world, hr_order, no_stripe):
    bill(None)
    hr_order.status = OrderStatus.CANCELLED
    credit_cancelled_order(hr_order, 10_000, world.sbm_a)
    db.session.rollback()  # the cancel use case refused after all

    assert db.session.scalar(sa.select(sa.func.count(CreditNote.id))) == 0
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.credited_pence > 0))
    assert invoice is None


@pytest.mark.usefixtures("no_stripe")
def test_the_marketplaces_cancel_leaves_the_charge_to_be_billed_and_credits_nothing(market):
    """Through the real cancel use case: a confirmed order, never billed, cancelled with a 10%
    admin charge: no credit note; the next billing run bills the charge alone."""
    from marketplace.orders import decisions, drafting
    from tests.marketplace.conftest import draft

    market.offer_a.cancellation_charge_bp = 1_000
    db.session.commit()
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    decisions.confirm(order.id, market.provider_a.id, market.provider_user_a)
    from datetime import timedelta

    from app.calendar import Term

    starts = Term.parse(order.term_key).starts_on
    decisions.cancel(order.id, market.school_a.id, market.sbm_a, today=starts - timedelta(days=30))
    assert order.cancellation_charge_pence == 12_500
    assert db.session.scalar(sa.select(sa.func.count(CreditNote.id))) == 0

    bill(None)

    invoice = invoice_for_order(order.id)
    assert invoice is not None and invoice.total_pence == 12_500
    assert invoice.po_number == order.po_number


@pytest.mark.usefixtures("no_stripe")
def test_the_marketplaces_cancel_of_an_invoiced_order_credits_what_the_rules_give_back(market):
    """Through the real use cases: delivered, billed (so invoiced), then cancelled with notice
    under a 10% admin charge: a credit note for the other 90%, and the provider is owed only
    the charge less the fee."""
    from datetime import timedelta

    from app.calendar import Term
    from marketplace.billing import payables
    from marketplace.orders import acceptance, decisions, drafting
    from tests.marketplace.conftest import draft

    market.offer_a.cancellation_charge_bp = 1_000
    db.session.commit()
    order = draft(market, quantity=5)  # £1,250
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    decisions.confirm(order.id, market.provider_a.id, market.provider_user_a)
    decisions.deliver(
        order.id, market.provider_a.id, market.provider_user_a, today=decisions.starts_on(order)
    )
    acceptance.confirm_receipt(order.id, market.school_a.id, market.sbm_a)
    bill(None)
    invoice = invoice_for_order(order.id)
    assert invoice is not None
    assert order.status is OrderStatus.INVOICED
    due_before = invoice.amount_due_pence

    starts = Term.parse(order.term_key).starts_on
    decisions.cancel(order.id, market.school_a.id, market.sbm_a, today=starts - timedelta(days=30))

    assert order.status is OrderStatus.CANCELLED
    assert order.cancellation_charge_pence == 12_500
    note = db.session.scalar(sa.select(CreditNote).where(CreditNote.order_id == order.id))
    assert note is not None and note.net_pence == 112_500
    db.session.refresh(invoice)
    assert invoice.credited_pence == note.total_pence
    assert invoice.amount_due_pence == due_before - note.total_pence
    mine = payables.items(payables.fee_bp(), provider_id=market.provider_a.id)
    owed = [i for i in mine if i.order_id == order.id]
    assert [i.gross_pence for i in owed] == [12_500]
