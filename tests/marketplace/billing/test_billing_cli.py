"""`flask billing run` and `flask billing reconcile` from the command line."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from marketplace.billing import webhooks as billing_events
from marketplace.billing.models import BillingRun, Invoice, InvoiceStatus
from marketplace.billing.state import set_state


@pytest.mark.usefixtures("no_stripe")
def test_billing_run_without_stripe_keeps_the_invoices_here(runner, world) -> None:
    result = runner.invoke(args=["billing", "run"])

    assert result.exit_code == 0, result.output
    assert "Stripe is not configured" in result.output
    assert "2 invoices created." in result.output
    again = runner.invoke(args=["billing", "run"])
    assert "0 invoices created." in again.output
    assert db.session.scalar(sa.select(sa.func.count(BillingRun.id))) == 2


@pytest.mark.usefixtures("no_stripe")
def test_billing_run_takes_an_as_of_date_and_refuses_a_bad_one(runner, world) -> None:
    bad = runner.invoke(args=["billing", "run", "--as-of", "31/12/2026"])
    assert bad.exit_code != 0
    assert "Invalid value for '--as-of'" in bad.output
    assert db.session.scalar(sa.select(sa.func.count(BillingRun.id))) == 0

    result = runner.invoke(args=["billing", "run", "--as-of", "2010-01-15"])
    assert result.exit_code == 0, result.output
    assert "15 January 2010" in result.output
    assert "0 invoices created." in result.output  # no membership terms for 2009/10


@pytest.mark.usefixtures("no_stripe")
def test_reconcile_needs_stripe(runner, world) -> None:
    result = runner.invoke(args=["billing", "reconcile"])

    assert result.exit_code != 0
    assert "Stripe is not configured" in result.output


@pytest.mark.usefixtures("stripe_config")
def test_billing_run_and_reconcile_with_stripe(runner, world, client_stripe) -> None:
    world.school_b.is_member = False
    world.school_a.finance_email = "finance@alpha.example"
    db.session.commit()
    result = runner.invoke(args=["billing", "run"])
    assert result.exit_code == 0, result.output
    assert "1 of 1 issued through Stripe, 1 Stripe customers created." in result.output
    invoice = db.session.scalar(sa.select(Invoice))
    set_state(billing_events.EVENTS_CURSOR, str(int(invoice.created_at.timestamp()) - 5))
    set_state(billing_events.INVOICES_CURSOR, str(int(invoice.created_at.timestamp()) - 5))
    db.session.commit()
    client_stripe.v1.invoices.pay(invoice.stripe_invoice_id, {"paid_out_of_band": True})

    result = runner.invoke(args=["billing", "reconcile"])

    assert result.exit_code == 0, result.output
    assert "open → paid" in result.output
    db.session.refresh(invoice)
    assert invoice.status is InvoiceStatus.PAID
