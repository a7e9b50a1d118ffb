"""Planning a billing run: what is due becomes one invoice each, once, with VAT to the penny.

These run with Stripe not configured: invoices are issued here with Pooled's own numbers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import AuditEvent
from app.time import london_today
from marketplace.billing import runs
from marketplace.billing.errors import BillingRunInProgress
from marketplace.billing.models import (
    BillingRun,
    BillingRunStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
)
from marketplace.billing.queries import invoice_for_order
from marketplace.billing.state import gateway_from_config
from marketplace.orders.models import OrderStatus
from tests import factories
from tests.marketplace.billing.conftest import (
    count,
    invoices,
    make_contract,
    make_order,
    previous_term,
    standard_rated_service,
)

pytestmark = pytest.mark.usefixtures("no_stripe")


def run_billing(as_of=None) -> runs.RunReport:
    run = runs.start_run(None, as_of)
    return runs.execute(run, gateway_from_config())


def test_each_member_school_gets_one_membership_invoice_with_its_subscription(world) -> None:
    report = run_billing()

    assert report.invoices_created == 2
    by_school = {i.school_id: i for i in invoices()}
    alpha = by_school[world.school_a.id]  # 420 pupils at £14.00
    assert (alpha.kind, alpha.period, alpha.total_pence, alpha.vat_pence) == (
        InvoiceKind.MEMBERSHIP,
        factories.this_year().label,
        588_000,
        0,
    )
    [line] = alpha.lines
    assert (line.quantity, line.unit_pence, line.amount_pence) == (420, 1_400, 588_000)
    assert "Council match (100% of the subscription): £5,880.00, paid by the council" in alpha.note


def test_the_cap_is_applied_to_a_big_school_and_the_council_match_shown(world) -> None:
    run_billing()

    beta = next(i for i in invoices() if i.school_id == world.school_b.id)
    # 1,200 pupils × £14 = £16,800, capped at £12,500.
    assert beta.total_pence == 1_250_000
    [line] = beta.lines
    assert (line.quantity, line.unit_pence) == (1, 1_250_000)
    assert "capped at £12,500.00" in line.description
    assert "Capped at £12,500.00 a school" in beta.note
    assert "£12,500.00, paid by the council" in beta.note


def test_schools_that_left_the_partnership_are_not_billed(world) -> None:
    world.school_b.is_member = False
    db.session.flush()

    run_billing()

    assert [i.school_id for i in invoices()] == [world.school_a.id]


def test_without_stripe_invoices_are_issued_here_with_our_number_and_30_days_to_pay(world) -> None:
    run_billing()

    for invoice in invoices():
        assert invoice.status is InvoiceStatus.OPEN
        assert invoice.number == f"PLD-{invoice.id:06d}"
        assert invoice.due_on == london_today() + timedelta(days=30)
        assert invoice.stripe_invoice_id is None
        assert "not configured" in invoice.not_sent_reason


def test_running_twice_bills_nothing_twice(world) -> None:
    make_order(world.school_a, world.offer_a)
    first = run_billing()
    second = run_billing()

    assert (first.invoices_created, second.invoices_created) == (3, 0)
    assert count(Invoice) == 3
    recorded = db.session.scalars(sa.select(BillingRun).order_by(BillingRun.id)).all()
    assert [r.status for r in recorded] == [BillingRunStatus.FINISHED] * 2
    assert "0 invoices created" in recorded[1].message


def test_a_delivered_order_is_invoiced_with_its_po_number_and_becomes_invoiced(world) -> None:
    order = make_order(world.school_a, world.offer_a, quantity=6, po_number="PO-ALPHA-42")
    undelivered = make_order(world.school_a, world.offer_a, status=OrderStatus.CONFIRMED)

    run_billing()

    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.kind == InvoiceKind.ORDER))
    assert invoice is not None
    assert (invoice.po_number, invoice.period, invoice.billing_key) == (
        "PO-ALPHA-42",
        order.term_key,
        f"order-{order.id}",
    )
    [line] = invoice.lines
    assert (line.order_id, line.quantity, line.unit_pence, line.amount_pence) == (
        order.id,
        6,
        25_000,
        150_000,
    )
    assert invoice.vat_pence == 0  # counselling is VAT exempt
    db.session.refresh(order)
    db.session.refresh(undelivered)
    assert order.status is OrderStatus.INVOICED
    assert undelivered.status is OrderStatus.CONFIRMED
    trail = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.entity_type == "order", AuditEvent.entity_id == str(order.id)
        )
    ).all()
    assert trail == ["invoiced"]


def test_vat_is_charged_at_the_services_rate_rounded_half_up(world) -> None:
    hr = standard_rated_service()
    offer = factories.make_offer(world.provider_a, hr, tiers=[(0, 8_333)])
    order = make_order(world.school_a, offer, quantity=3)  # 3 × £83.33 = £249.99

    run_billing()

    invoice = invoice_for_order(order.id)
    assert invoice is not None
    # 20% of £249.99 is £49.998 → £50.00.
    assert (invoice.net_pence, invoice.vat_pence, invoice.total_pence) == (24_999, 5_000, 29_999)
    assert invoice.lines[0].vat_rate_bp == 2000


def test_set_up_charge_and_entitled_units_are_on_the_orders_line(world) -> None:
    order = make_order(world.school_a, world.offer_a, quantity=5, entitled=2, setup_pence=10_000)

    run_billing()

    line = db.session.scalar(sa.select(InvoiceLine).where(InvoiceLine.order_id == order.id))
    assert line is not None
    assert line.amount_pence == order.total_pence == 3 * 25_000 + 10_000
    assert "plus £100.00 set-up" in line.description
    assert "2 included in your membership" in line.description


def test_orders_fully_covered_by_the_membership_are_not_billed(world) -> None:
    order = make_order(world.school_a, world.offer_a, quantity=2, entitled=2)

    run_billing()

    assert invoice_for_order(order.id) is None
    db.session.refresh(order)
    assert order.status is OrderStatus.DELIVERED


def test_call_offs_are_billed_once_per_school_per_term_after_the_term_ends(world) -> None:
    contract = make_contract(world.offer_a)
    last_term = previous_term()
    this_term = factories.this_term()
    a1 = make_order(
        world.school_a,
        world.offer_a,
        2,
        contract=contract,
        term_key=last_term.key,
        po_number="PO-A1",
    )
    a2 = make_order(
        world.school_a,
        world.offer_a,
        3,
        contract=contract,
        term_key=last_term.key,
        po_number="PO-A2",
    )
    b1 = make_order(world.school_b, world.offer_a, 1, contract=contract, term_key=last_term.key)
    current = make_order(
        world.school_a, world.offer_a, 1, contract=contract, term_key=this_term.key
    )

    run_billing()

    call_offs = [i for i in invoices() if i.kind is InvoiceKind.CALL_OFF]
    assert sorted((i.school_id, i.period) for i in call_offs) == sorted(
        [(world.school_a.id, last_term.key), (world.school_b.id, last_term.key)]
    )
    alpha = next(i for i in call_offs if i.school_id == world.school_a.id)
    assert sorted(line.order_id for line in alpha.lines) == [a1.id, a2.id]
    assert alpha.total_pence == 5 * 25_000
    assert alpha.po_number == "PO-A1, PO-A2"
    assert contract.reference in alpha.lines[0].description
    assert invoice_for_order(b1.id) is not None
    assert invoice_for_order(current.id) is None  # its term has not ended
    due = runs.due_summary(london_today(), with_stripe=False)
    assert (due.call_offs, due.call_offs_waiting) == (0, 1)

    # Once the current term is over, its call-off is billed on an invoice of its own.
    run_billing(this_term.ends_on + timedelta(days=1))
    assert invoice_for_order(current.id).period == this_term.key


def test_a_call_off_delivered_after_its_terms_invoice_gets_a_supplementary_one(world) -> None:
    contract = make_contract(world.offer_a)
    last_term = previous_term()
    make_order(world.school_a, world.offer_a, 2, contract=contract, term_key=last_term.key)
    run_billing()
    late = make_order(world.school_a, world.offer_a, 1, contract=contract, term_key=last_term.key)

    run_billing()

    invoice = invoice_for_order(late.id)
    assert invoice is not None
    assert invoice.billing_key.endswith("-supplementary-2")
    assert "(supplementary)" in invoice.title


def test_a_cancelled_order_with_a_charge_is_billed_the_charge_only(world) -> None:
    order = make_order(
        world.school_a,
        world.offer_a,
        4,
        status=OrderStatus.CANCELLED,
        cancellation_charge_pence=12_345,
    )
    free = make_order(world.school_a, world.offer_a, 4, status=OrderStatus.CANCELLED)

    run_billing()

    invoice = invoice_for_order(order.id)
    assert invoice is not None
    assert invoice.total_pence == 12_345
    assert "Cancellation charge" in invoice.title
    assert invoice_for_order(free.id) is None
    db.session.refresh(order)
    assert order.status is OrderStatus.CANCELLED


def test_the_database_refuses_to_bill_an_order_or_a_membership_twice(world) -> None:
    order = make_order(world.school_a, world.offer_a)
    run_billing()
    first = invoice_for_order(order.id)
    membership_line = db.session.scalar(
        sa.select(InvoiceLine).where(InvoiceLine.membership_id.is_not(None))
    )

    for duplicate in (
        InvoiceLine(
            invoice_id=first.id,
            order_id=order.id,
            description="again",
            unit_pence=1,
            amount_pence=1,
        ),
        InvoiceLine(
            invoice_id=first.id,
            membership_id=membership_line.membership_id,
            description="again",
            unit_pence=1,
            amount_pence=1,
        ),
        Invoice(
            school_id=first.school_id,
            kind=first.kind,
            period=first.period,
            billing_key=first.billing_key,
            title="again",
        ),
    ):
        db.session.add(duplicate)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_an_order_whose_lines_do_not_add_up_is_refused_and_reported(world) -> None:
    order = make_order(world.school_a, world.offer_a, quantity=2)
    order.total_pence += 1  # corrupted: 2 × £250 is not £500.01
    db.session.flush()

    report = run_billing()

    assert invoice_for_order(order.id) is None
    assert any(f"Order {order.id}" in failure for failure in report.failures)
    db.session.refresh(order)
    assert order.status is OrderStatus.DELIVERED


def test_a_second_run_is_refused_while_one_is_in_progress(world) -> None:
    runs.start_run(None)
    with pytest.raises(BillingRunInProgress):
        runs.start_run(None)


def test_a_run_whose_process_died_does_not_block_the_next(world) -> None:
    stuck = runs.start_run(None)
    stuck.runner = "this-host-is-gone:1"
    stuck.heartbeat_at = stuck.heartbeat_at - runs.RUN_STALE_AFTER - timedelta(seconds=1)
    db.session.commit()

    run = runs.start_run(None)

    db.session.refresh(stuck)
    assert stuck.status is BillingRunStatus.FAILED
    assert "Interrupted" in stuck.message
    assert run.status is BillingRunStatus.RUNNING


def test_every_invoice_written_leaves_an_audit_event(world) -> None:
    run_billing()

    created = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.entity_type == "invoice", AuditEvent.action == "created")
    )
    assert created == count(Invoice) == 2
