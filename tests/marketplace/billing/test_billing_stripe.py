"""Issuing invoices through Stripe (the local Stripe server, real SDK): once, whatever happens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import stripe

from app.extensions import db
from marketplace.billing import invoicing, runs
from marketplace.billing.models import (
    BillingCustomer,
    BillingRun,
    BillingRunStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)
from marketplace.billing.queries import invoice_for_order
from marketplace.billing.state import namespace
from marketplace.billing.stripe_gateway import StripeGateway
from tests import factories
from tests.marketplace.billing.conftest import (
    invoices,
    make_order,
    standard_rated_service,
    stripe_customers,
    stripe_invoices,
)

pytestmark = pytest.mark.usefixtures("stripe_config")


def run_billing(gateway: Any) -> runs.RunReport:
    run = runs.start_run(None)
    return runs.execute(run, gateway)


def test_a_run_makes_one_customer_per_school_and_sends_each_invoice(
    world, gateway: StripeGateway, client_stripe: stripe.StripeClient
) -> None:
    make_order(world.school_a, world.offer_a, quantity=3, po_number="PO-ALPHA-9")
    world.school_a.finance_email = "finance@alpha.example"
    world.school_b.finance_email = "finance@beta.example"
    db.session.flush()

    report = run_billing(gateway)

    assert (report.invoices_created, report.pushed, report.customers_created) == (3, 3, 2)
    ns = namespace()
    customers = stripe_customers(client_stripe, ns)
    assert sorted(c.email for c in customers) == ["finance@alpha.example", "finance@beta.example"]
    alpha_customer = next(c for c in customers if c.email == "finance@alpha.example")
    assert alpha_customer.metadata["urn"] == str(world.school_a.urn)
    stored = db.session.scalar(
        sa.select(BillingCustomer.stripe_customer_id).where(
            BillingCustomer.school_id == world.school_a.id
        )
    )
    assert stored == alpha_customer.id
    remote = {i.id: i for i in stripe_invoices(client_stripe, ns)}
    assert len(remote) == 3
    for invoice in invoices():
        theirs = remote[invoice.stripe_invoice_id]
        assert theirs.collection_method == "send_invoice"
        assert theirs.status == "open"
        assert theirs.total == invoice.total_pence
        assert theirs.number == invoice.number
        assert invoice.status is InvoiceStatus.OPEN
        assert invoice.sent_at is not None
        assert invoice.due_on == (invoice.issued_at + timedelta(days=30)).date()
        assert invoice.hosted_invoice_url
    order_invoice = next(i for i in invoices() if i.po_number == "PO-ALPHA-9")
    custom = remote[order_invoice.stripe_invoice_id].custom_fields
    assert [(f.name, f.value) for f in custom] == [("PO number", "PO-ALPHA-9")]


def test_vat_is_sent_as_a_vat_rate_and_stripes_total_matches_ours(
    world, gateway: StripeGateway, client_stripe: stripe.StripeClient
) -> None:
    offer = factories.make_offer(world.provider_a, standard_rated_service(), tiers=[(0, 8_333)])
    order = make_order(world.school_a, offer, quantity=3)

    run_billing(gateway)

    invoice = invoice_for_order(order.id)
    theirs = client_stripe.v1.invoices.retrieve(invoice.stripe_invoice_id)
    assert (theirs.subtotal, theirs.total) == (24_999, 29_999)
    assert sum(t.amount for t in theirs.total_taxes) == invoice.vat_pence == 5_000
    assert invoice.last_error == ""


def test_running_again_creates_nothing_in_stripe(
    world, gateway: StripeGateway, client_stripe: stripe.StripeClient
) -> None:
    make_order(world.school_b, world.offer_b, quantity=2)
    run_billing(gateway)
    ns = namespace()
    before = (len(stripe_invoices(client_stripe, ns)), len(stripe_customers(client_stripe, ns)))

    report = run_billing(gateway)

    assert (report.invoices_created, report.to_push, report.customers_created) == (0, 0, 0)
    assert (
        (len(stripe_invoices(client_stripe, ns)), len(stripe_customers(client_stripe, ns)))
        == before
        == (3, 2)
    )


class Killed(BaseException):
    """The process dies: nothing after this point runs, not even `except Exception`."""


class DiesAfter:
    """The real gateway, but the process dies right after its Nth successful call to Stripe,
    before our database has stored what Stripe returned."""

    def __init__(self, real: StripeGateway, calls: int) -> None:
        self.real = real
        self.left = calls

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            self.left -= 1
            if self.left == 0:
                raise Killed(name)
            return result

        return call


@pytest.mark.parametrize("calls", [1, 2, 3, 4, 5, 13])
def test_a_run_killed_after_any_stripe_call_is_finished_by_the_next_without_duplicates(
    world, gateway: StripeGateway, client_stripe: stripe.StripeClient, calls: int
) -> None:
    hr = factories.make_offer(world.provider_a, standard_rated_service(), tiers=[(0, 5_000)])
    make_order(world.school_a, hr, quantity=2)  # a VAT line: the tax rate call is in the mix
    make_order(world.school_b, world.offer_b, quantity=1)
    world.school_a.finance_email = "finance@alpha.example"
    world.school_b.finance_email = "finance@beta.example"
    db.session.flush()
    run = runs.start_run(None)
    with pytest.raises(Killed):
        runs.execute(run, DiesAfter(gateway, calls))
    db.session.rollback()
    # The dead process's run never finished; after a while it counts as stopped.
    run = db.session.get(BillingRun, run.id)
    assert run.status is BillingRunStatus.RUNNING
    run.heartbeat_at -= runs.RUN_STALE_AFTER + timedelta(minutes=1)
    db.session.commit()

    report = run_billing(gateway)

    assert report.failures == []
    ns = namespace()
    ours = invoices()
    assert len(ours) == 4  # two memberships, two orders
    remote = stripe_invoices(client_stripe, ns)
    assert sorted(i.id for i in remote) == sorted(i.stripe_invoice_id for i in ours)
    assert len(stripe_customers(client_stripe, ns)) == 2
    for invoice in ours:
        assert invoice.status is InvoiceStatus.OPEN
        assert invoice.sent_at is not None
        items = client_stripe.v1.invoice_items.list({"invoice": invoice.stripe_invoice_id}).data
        assert len(items) == len(invoice.lines) == 1
        assert client_stripe.v1.invoices.retrieve(invoice.stripe_invoice_id).total == (
            invoice.total_pence
        )
    sent = client_stripe.v1.events.list({"type": "invoice.sent", "limit": 100}).data
    sent_ours = [e for e in sent if e.data.object.id in {i.stripe_invoice_id for i in ours}]
    assert len(sent_ours) == 4  # each invoice emailed once


def test_an_invoice_created_in_stripe_long_ago_is_found_not_made_again(
    world, gateway: StripeGateway, client_stripe: stripe.StripeClient
) -> None:
    """Beyond Stripe's 24-hour idempotency window a key no longer replays: a run resuming an
    invoice whose creation was attempted looks it up by our metadata first."""
    world.school_b.is_member = False
    db.session.flush()
    run = runs.start_run(None)
    with pytest.raises(Killed):
        runs.execute(run, DiesAfter(gateway, 2))  # customer, then invoice: dies
    db.session.rollback()
    [invoice] = invoices()
    assert invoice.stripe_invoice_id is None  # made in Stripe, never stored here
    assert len(stripe_invoices(client_stripe, namespace())) == 1
    run = db.session.get(BillingRun, run.id)
    run.heartbeat_at -= runs.RUN_STALE_AFTER + timedelta(minutes=1)
    db.session.commit()

    class ForgetfulKeys:
        """The real gateway sending fresh idempotency keys, as if the old ones had expired."""

        def __init__(self, real: StripeGateway) -> None:
            self.real = real

        def __getattr__(self, name: str) -> Any:
            attribute = getattr(self.real, name)
            if not callable(attribute):
                return attribute

            def call(*args: Any, **kwargs: Any) -> Any:
                if "idempotency_key" in kwargs:
                    kwargs["idempotency_key"] += "-after-24-hours"
                return attribute(*args, **kwargs)

            return call

    report = run_billing(ForgetfulKeys(gateway))

    assert report.failures == []
    assert len(stripe_invoices(client_stripe, namespace())) == 1
    assert len(stripe_customers(client_stripe, namespace())) == 1


def test_a_school_without_a_finance_email_is_invoiced_but_not_emailed(
    world, gateway: StripeGateway
) -> None:
    world.school_b.is_member = False
    world.school_a.finance_email = ""
    db.session.flush()

    run_billing(gateway)

    [invoice] = invoices()
    assert invoice.status is InvoiceStatus.OPEN
    assert invoice.sent_at is None
    assert "no finance email" in invoice.not_sent_reason


def test_stripe_refusing_an_invoice_is_recorded_and_the_others_still_go(
    world, gateway: StripeGateway
) -> None:
    run = runs.start_run(None)
    invoicing.plan(run.as_of, run.id, issue_here=False)
    line = db.session.scalar(
        sa.select(InvoiceLine).join(Invoice).where(Invoice.school_id == world.school_a.id)
    )
    line.quantity, line.unit_pence = 1, 100_000_000  # £1m: more than Stripe takes on a line
    line.amount_pence = line.unit_pence
    db.session.commit()

    report = runs.execute(run, gateway)

    assert len(report.failures) == 1
    broken = db.session.get(Invoice, line.invoice_id)
    assert broken.last_error and broken.stripe_invoice_id is not None
    assert broken.status is InvoiceStatus.DRAFT
    others = [i for i in invoices() if i.id != broken.id]
    assert [i.status for i in others] == [InvoiceStatus.OPEN]
    assert db.session.get(BillingRun, run.id).failures == 1


def test_invoices_issued_before_stripe_was_configured_go_through_stripe_later(
    app, world, gateway: StripeGateway, client_stripe: stripe.StripeClient
) -> None:
    world.school_b.is_member = False
    world.school_a.finance_email = "finance@alpha.example"
    db.session.flush()
    key = app.config["STRIPE_API_KEY"]
    app.config["STRIPE_API_KEY"] = ""
    try:
        run_billing(None)
    finally:
        app.config["STRIPE_API_KEY"] = key
    [invoice] = invoices()
    assert (invoice.status, invoice.number) == (InvoiceStatus.OPEN, f"PLD-{invoice.id:06d}")

    report = run_billing(gateway)

    assert (report.invoices_created, report.pushed) == (0, 1)
    [invoice] = invoices()
    theirs = client_stripe.v1.invoices.retrieve(invoice.stripe_invoice_id)
    assert (theirs.status, theirs.total) == ("open", invoice.total_pence)
    assert invoice.number == theirs.number
    assert invoice.sent_at is not None and invoice.not_sent_reason == ""
