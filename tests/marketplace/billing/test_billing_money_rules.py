"""What billing waits for: the school's purchase-order number and an accepted delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.time import london_today
from marketplace.billing import runs
from marketplace.billing.queries import invoice_for_order
from marketplace.billing.state import gateway_from_config
from marketplace.orders import acceptance, access, decisions, drafting
from marketplace.orders.errors import InvalidOrder, OrderStateConflict
from marketplace.orders.models import OrderStatus
from tests.marketplace.billing.conftest import make_contract, make_order, previous_term
from tests.marketplace.conftest import draft

pytestmark = pytest.mark.usefixtures("no_stripe")


def run_billing(as_of=None) -> runs.RunReport:
    run = runs.start_run(None, as_of)
    return runs.execute(run, gateway_from_config())


def test_a_call_off_without_a_po_number_is_not_billed_until_the_school_gives_it(world):
    contract = make_contract(world.offer_a)
    call_off = make_order(
        world.school_a,
        world.offer_a,
        2,
        contract=contract,
        term_key=previous_term().key,
        po_number="",
    )
    run_billing()
    assert invoice_for_order(call_off.id) is None
    assert runs.due_summary(london_today(), with_stripe=False).call_offs == 0

    with pytest.raises(InvalidOrder, match="Enter your purchase-order number"):
        drafting.give_po_number(call_off.id, world.school_a.id, world.sbm_a, "   ")
    drafting.give_po_number(call_off.id, world.school_a.id, world.sbm_a, " PO-88 ")
    assert call_off.po_number == "PO-88"
    with pytest.raises(OrderStateConflict, match="already has purchase-order number PO-88"):
        drafting.give_po_number(call_off.id, world.school_a.id, world.sbm_a, "PO-99")

    assert runs.due_summary(london_today(), with_stripe=False).call_offs == 1
    run_billing()
    invoice = invoice_for_order(call_off.id)
    assert invoice is not None and invoice.po_number == "PO-88"


def delivered(market, quantity: int = 5):
    """Through the use cases: ordered, confirmed and delivered on the day the order starts."""
    order = draft(market, quantity=quantity)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    decisions.confirm(order.id, market.provider_a.id, market.provider_user_a)
    decisions.deliver(
        order.id, market.provider_a.id, market.provider_user_a, today=decisions.starts_on(order)
    )
    return order


def test_a_delivery_is_billed_once_the_school_confirms_receipt(market):
    order = delivered(market)
    run_billing(order.acceptance_due_on)  # inside the window, not confirmed: not billed
    assert invoice_for_order(order.id) is None and order.status is OrderStatus.DELIVERED
    acceptance.confirm_receipt(order.id, market.school_a.id, market.sbm_a)
    run_billing(order.acceptance_due_on)
    assert invoice_for_order(order.id) is not None
    assert order.status is OrderStatus.INVOICED


def test_an_undisputed_delivery_is_deemed_accepted_and_billed_after_its_window(market):
    order = delivered(market)
    due = order.acceptance_due_on
    assert runs.due_summary(due, with_stripe=False).orders == 0
    run_billing(due)
    assert invoice_for_order(order.id) is None
    assert runs.due_summary(due + timedelta(days=1), with_stripe=False).orders == 1
    run_billing(due + timedelta(days=1))
    assert invoice_for_order(order.id) is not None
    assert order.accepted_at is not None and order.accepted_by_id is None
    actions = [e.action for e in access.history(order)]
    assert actions[-2:] == ["deemed accepted", "invoiced"]


def test_a_disputed_delivery_is_not_billed_until_the_office_accepts_it(market):
    order = delivered(market)
    acceptance.dispute(order.id, market.school_a.id, market.sbm_a, "Half the sessions missed")
    later = order.acceptance_due_on + timedelta(days=30)
    run_billing(later)
    assert invoice_for_order(order.id) is None
    acceptance.resolve_by_accepting(order.id, market.admin)
    run_billing(later)
    assert invoice_for_order(order.id) is not None


def test_a_dispute_upheld_cancels_the_order_and_nothing_is_billed(market):
    order = delivered(market)
    acceptance.dispute(order.id, market.school_a.id, market.sbm_a, "Nobody came")
    acceptance.resolve_by_cancelling(order.id, market.admin)
    run_billing(order.acceptance_due_on + timedelta(days=30))
    assert invoice_for_order(order.id) is None
    assert order.status is OrderStatus.CANCELLED
