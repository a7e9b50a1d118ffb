"""The order lifecycle as use cases: prices, approval, capacity, cancellation, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.calendar import Term
from app.extensions import db
from app.time import london_today
from marketplace.offers.models import OfferStatus
from marketplace.orders import access, decisions, drafting
from marketplace.orders.capacity import release_capacity, reserve_capacity
from marketplace.orders.errors import (
    CancellationRefused,
    CapacityExhausted,
    InvalidOrder,
    OfferUnavailable,
    OrderNotFound,
    OrderStateConflict,
    PriceChanged,
)
from marketplace.orders.models import Order, OrderKind, OrderStatus
from procurement.contracts.models import (
    Contract,
    ContractSchool,
    ContractSource,
    ContractStatus,
    ContractTier,
)
from tests import factories
from tests.marketplace.conftest import counts, draft, reserved, term_key


def test_a_draft_is_priced_from_the_offer_tier_and_reserves_nothing(market):
    order = draft(market, quantity=20)
    assert order.status is OrderStatus.DRAFT
    assert (order.unit_price_pence, order.total_pence) == (23_000, 460_000)
    assert order.kind is OrderKind.ORDER and order.contract_id is None
    assert reserved(market.offer_a.id) == 0


def test_an_order_within_the_threshold_is_approved_on_submit_and_reserves_capacity(market):
    order = draft(market, quantity=5)  # £1,250, threshold £2,500
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    assert order.status is OrderStatus.APPROVED
    assert order.approved_by_id == market.sbm_a.id
    assert reserved(market.offer_a.id) == 5
    assert [e.action for e in access.history(order)] == ["created", "submitted", "approved"]


def test_an_order_over_the_threshold_waits_for_the_head(market):
    order = draft(market, quantity=12)  # £3,000
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    assert order.status is OrderStatus.SUBMITTED
    assert reserved(market.offer_a.id) == 12  # held while the head decides

    with pytest.raises(OrderStateConflict, match="Only the head"):
        decisions.approve(order.id, market.school_a.id, market.sbm_a)
    decisions.approve(order.id, market.school_a.id, market.head_a)
    assert order.status is OrderStatus.APPROVED
    assert order.approved_by_id == market.head_a.id


def test_an_order_at_exactly_the_threshold_is_approved_on_submit(market):
    order = draft(market, quantity=10)  # £2,500, threshold £2,500
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    assert order.status is OrderStatus.APPROVED


def test_the_sql_condition_picks_the_orders_the_rule_picks(market):
    """Order.needs_approval in a query and on a loaded order are the same rule."""
    threshold = market.school_a.approval_threshold_pence
    drafts = [draft(market, quantity=q) for q in (9, 10, 11)]  # £2,250, £2,500, £2,750
    picked = set(db.session.scalars(sa.select(Order.id).where(Order.needs_approval(threshold))))
    assert picked == {o.id for o in drafts if o.needs_approval(threshold)}
    assert picked == {drafts[2].id}


def test_the_provider_confirms_then_marks_delivered_and_each_step_is_audited(market):
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    decisions.confirm(order.id, market.provider_a.id, market.provider_user_a)
    decisions.deliver(
        order.id, market.provider_a.id, market.provider_user_a, today=decisions.starts_on(order)
    )
    assert order.status is OrderStatus.DELIVERED
    assert order.confirmed_at is not None and order.delivered_at is not None
    events = access.history(order)
    assert [(e.action, (e.before or {}).get("status"), e.after["status"]) for e in events] == [
        ("created", None, "draft"),
        ("submitted", "draft", "submitted"),
        ("approved", "submitted", "approved"),
        ("confirmed", "approved", "confirmed"),
        ("delivered", "confirmed", "delivered"),
    ]
    assert events[-1].actor_id == market.provider_user_a.id
    assert all(e.scope == f"school:{market.school_a.id}" for e in events)


def test_delivering_before_confirming_is_refused(market):
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    before = counts()
    with pytest.raises(OrderStateConflict, match="cannot be marked delivered"):
        decisions.deliver(order.id, market.provider_a.id, market.provider_user_a)
    assert counts() == before


@pytest.mark.parametrize("who", ["decline", "reject", "cancel"])
def test_declining_rejecting_or_cancelling_releases_the_capacity(market, who):
    order = draft(market, quantity=12)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    assert reserved(market.offer_a.id) == 12
    if who == "decline":
        decisions.decline(order.id, market.provider_a.id, market.provider_user_a, "Fully booked")
        assert order.status is OrderStatus.DECLINED
    elif who == "reject":
        decisions.reject(order.id, market.school_a.id, market.head_a, "Not in the budget")
        assert order.status is OrderStatus.REJECTED
    else:
        decisions.cancel(order.id, market.school_a.id, market.sbm_a)
        assert order.status is OrderStatus.CANCELLED
        assert order.cancellation_charge_pence == 0
    assert reserved(market.offer_a.id) == 0
    assert access.history(order)[-1].after.get("reason", "") in {
        "Fully booked",
        "Not in the budget",
        "",
    }


def test_a_rejection_is_its_own_status_with_the_heads_reason(market):
    order = draft(market, quantity=12)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    decisions.reject(order.id, market.school_a.id, market.head_a, "  Not in this year’s budget ")
    assert order.status is OrderStatus.REJECTED
    assert order.rejection_reason == "Not in this year’s budget"
    assert order.cancelled_at is not None and order.cancellation_charge_pence == 0
    event = access.history(order)[-1]
    assert (event.action, event.after["status"]) == ("rejected", "rejected")
    # A rejected order is closed: it cannot be approved, rejected again or cancelled.
    before = counts()
    with pytest.raises(OrderStateConflict, match="is rejected"):
        decisions.approve(order.id, market.school_a.id, market.head_a)
    with pytest.raises(OrderStateConflict, match="already rejected"):
        decisions.cancel(order.id, market.school_a.id, market.sbm_a)
    assert counts() == before


def test_only_the_head_rejects_and_only_orders_waiting_for_approval(market):
    waiting = draft(market, quantity=12)
    drafting.submit(waiting.id, market.school_a.id, market.sbm_a)
    approved = draft(market, quantity=5)
    drafting.submit(approved.id, market.school_a.id, market.sbm_a)
    before = counts()
    with pytest.raises(OrderStateConflict, match="Only the head"):
        decisions.reject(waiting.id, market.school_a.id, market.sbm_a, "No")
    with pytest.raises(OrderStateConflict, match="is approved, so it cannot be rejected"):
        decisions.reject(approved.id, market.school_a.id, market.head_a, "No")
    assert counts() == before
    assert waiting.status is OrderStatus.SUBMITTED and waiting.rejection_reason == ""


def test_declining_needs_a_reason(market):
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    with pytest.raises(InvalidOrder, match="Give a reason"):
        decisions.decline(order.id, market.provider_a.id, market.provider_user_a, "  ")
    assert reserved(market.offer_a.id) == 5


# Bad input: each is refused with a clear message and writes nothing -----------------------


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "at least 1"),
        (-4, "at least 1"),
        (2.5, "whole number"),
        (10**9, "100,000 or fewer"),
    ],
)
def test_bad_quantities_are_refused(market, quantity, message):
    before = counts()
    with pytest.raises(InvalidOrder, match=message) as caught:
        draft(market, quantity=quantity)
    assert caught.value.field == "quantity"
    assert counts() == before


def test_a_withdrawn_offer_cannot_be_ordered(market):
    market.offer_a.status = OfferStatus.WITHDRAWN
    db.session.commit()
    before = counts()
    with pytest.raises(OfferUnavailable, match="withdrawn"):
        draft(market)
    assert counts() == before


def test_an_expired_offer_cannot_be_ordered(market):
    market.offer_a.valid_to = london_today() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(OfferUnavailable, match="expired"):
        draft(market)


def test_an_offer_withdrawn_after_the_draft_cannot_be_submitted(market):
    order = draft(market)
    market.offer_a.status = OfferStatus.WITHDRAWN
    db.session.commit()
    before = counts()
    with pytest.raises(OfferUnavailable, match="withdrawn"):
        drafting.submit(order.id, market.school_a.id, market.sbm_a)
    assert counts() == before
    assert db.session.get(type(order), order.id).status is OrderStatus.DRAFT
    assert reserved(market.offer_a.id) == 0


def test_a_school_cannot_submit_or_see_another_schools_order(market):
    order = draft(market)
    before = counts()
    with pytest.raises(OrderNotFound):
        drafting.submit(order.id, market.school_b.id, market.sbm_b)
    with pytest.raises(OrderNotFound):
        access.get_order_for_user(order.id, market.sbm_b)
    assert counts() == before
    assert reserved(market.offer_a.id) == 0


def test_an_order_over_the_capacity_left_is_refused_at_draft_and_at_submit(market):
    with pytest.raises(CapacityExhausted, match="only 100 days left"):
        draft(market, quantity=101)
    first = draft(market, quantity=60)
    second = draft(market, quantity=50, school_id=market.school_b.id, actor=market.sbm_b)
    drafting.submit(first.id, market.school_a.id, market.sbm_a)
    before = counts()
    with pytest.raises(CapacityExhausted, match="Capacity ran out: .* only 40 days left"):
        drafting.submit(second.id, market.school_b.id, market.sbm_b)
    assert counts() == before
    assert reserved(market.offer_a.id) == 60


def test_reserve_capacity_refuses_atomically_when_the_units_are_not_left(market):
    reserve_capacity(market.offer_a.id, term_key(), 100)
    with pytest.raises(CapacityExhausted, match="no days left"):
        reserve_capacity(market.offer_a.id, term_key(), 1)
    release_capacity(market.offer_a.id, term_key(), 30)
    assert reserved(market.offer_a.id) == 70


def test_a_second_submit_does_nothing_and_says_so(market):
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    before = counts()
    with pytest.raises(OrderStateConflict, match="already been submitted; nothing was changed"):
        drafting.submit(order.id, market.school_a.id, market.sbm_a)
    assert counts() == before
    assert reserved(market.offer_a.id) == 5


def test_a_submitted_order_cannot_be_edited(market):
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    before = counts()
    with pytest.raises(OrderStateConflict, match="can no longer be changed"):
        drafting.update_draft(
            order.id,
            market.school_a.id,
            term_key=term_key(),
            quantity=50,
            po_number="PO-2",
            actor=market.sbm_a,
        )
    assert counts() == before
    assert (order.quantity, reserved(market.offer_a.id)) == (5, 5)


def test_a_draft_can_be_edited_and_is_priced_again(market):
    order = draft(market, quantity=5)
    drafting.update_draft(
        order.id,
        market.school_a.id,
        term_key=term_key(),
        quantity=25,
        po_number="PO-9",
        notes="Mornings please",
        actor=market.sbm_a,
    )
    assert (order.quantity, order.total_pence, order.po_number) == (25, 575_000, "PO-9")
    assert access.history(order)[-1].action == "updated"


def test_a_provider_cannot_touch_another_providers_order(market):
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    before = counts()
    for action in (decisions.confirm, decisions.deliver):
        with pytest.raises(OrderNotFound):
            action(order.id, market.provider_b.id, market.provider_user_b)
    with pytest.raises(OrderNotFound):
        decisions.decline(order.id, market.provider_b.id, market.provider_user_b, "no")
    assert counts() == before
    assert order.status is OrderStatus.APPROVED


def test_a_price_change_after_the_draft_stops_the_submit_until_the_school_accepts_it(market):
    order = draft(market, quantity=5)
    market.offer_a.tiers[0].unit_price_pence = 26_000
    db.session.commit()
    before = counts()
    with pytest.raises(PriceChanged, match="now costs £1,300.00 \\(was £1,250.00\\)"):
        drafting.submit(order.id, market.school_a.id, market.sbm_a)
    assert counts() == before
    drafting.update_draft(
        order.id,
        market.school_a.id,
        term_key=order.term_key,
        quantity=5,
        po_number=order.po_number,
        actor=market.sbm_a,
    )
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    assert order.total_pence == 130_000


def test_an_unknown_or_past_term_is_refused(market):
    with pytest.raises(InvalidOrder, match="Choose the term"):
        draft(market, term_key="next-tuesday")
    past = Term(factories.this_year().start_year - 1, Term.containing(london_today()).name)
    with pytest.raises(InvalidOrder, match="no capacity"):
        draft(market, term_key=past.key)


def test_an_excluded_school_cannot_order(market):
    market.offer_a.excluded_school_ids = [market.school_a.id]
    db.session.commit()
    with pytest.raises(OfferUnavailable, match="does not offer this to your school"):
        draft(market)


def test_a_purchase_order_number_is_required(market):
    with pytest.raises(InvalidOrder, match="purchase-order number") as caught:
        draft(market, po_number="   ")
    assert caught.value.field == "po_number"


# Cancellation under the offer's notice rules ---------------------------------------------


def _confirmed(market, notice_days: int, charge_bp: int):
    market.offer_a.notice_days = notice_days
    market.offer_a.cancellation_charge_bp = charge_bp
    db.session.commit()
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    decisions.confirm(order.id, market.provider_a.id, market.provider_user_a)
    return order


def test_cancelling_a_confirmed_order_with_notice_charges_the_admin_fee(market):
    order = _confirmed(market, notice_days=10, charge_bp=1_000)
    term = Term.parse(order.term_key)
    decisions.cancel(
        order.id, market.school_a.id, market.sbm_a, today=term.starts_on - timedelta(30)
    )
    assert order.status is OrderStatus.CANCELLED
    assert order.cancellation_charge_pence == 12_500  # 10% of £1,250
    assert reserved(market.offer_a.id) == 0
    event = access.history(order)[-1]
    assert (event.after["charge_pence"], event.after["refund_pence"]) == (12_500, 112_500)


def test_cancelling_inside_the_notice_period_at_the_end_of_term_is_refused(market):
    order = _confirmed(market, notice_days=30, charge_bp=0)
    term = Term.parse(order.term_key)
    before = counts()
    with pytest.raises(CancellationRefused, match="30 days’ notice"):
        decisions.cancel(order.id, market.school_a.id, market.sbm_a, today=term.ends_on)
    assert counts() == before
    assert order.status is OrderStatus.CONFIRMED
    assert reserved(market.offer_a.id) == 5


def test_a_delivered_order_is_cancelled_by_the_offers_rules(market):
    order = _confirmed(market, notice_days=10, charge_bp=1_000)
    decisions.deliver(
        order.id, market.provider_a.id, market.provider_user_a, today=decisions.starts_on(order)
    )
    term = Term.parse(order.term_key)
    decisions.cancel(
        order.id, market.school_a.id, market.sbm_a, today=term.starts_on - timedelta(30)
    )
    assert order.status is OrderStatus.CANCELLED
    assert order.cancellation_charge_pence == 12_500  # the admin charge: notice was given
    assert reserved(market.offer_a.id) == 0


def test_a_cancelled_order_cannot_be_cancelled_again(market):
    order = _confirmed(market, notice_days=0, charge_bp=0)
    decisions.cancel(order.id, market.school_a.id, market.sbm_a)
    with pytest.raises(OrderStateConflict, match="already cancelled"):
        decisions.cancel(order.id, market.school_a.id, market.sbm_a)


# The contract-price seam ---------------------------------------------------------------------


def _contract(market, status=ContractStatus.ACTIVE, provider=None, school_price=19_000):
    year = factories.this_year()
    contract = Contract(
        reference=f"ELP-C-{status.value}",
        title="Counselling framework",
        provider_id=(provider or market.provider_a).id,
        service_id=market.service.id,
        source=ContractSource.TENDER,
        status=status,
        starts_on=year.starts_on,
        ends_on=year.ends_on.replace(year=year.ends_on.year + 1),
        tiers=[ContractTier(min_quantity=0, unit_price_pence=21_000)],
        schools=[ContractSchool(school_id=market.school_a.id, unit_price_pence=school_price)],
    )
    db.session.add(contract)
    db.session.commit()
    return contract


def test_a_school_in_an_active_contract_pays_the_contract_price(market):
    contract = _contract(market)
    order = draft(market, quantity=5)
    assert (order.unit_price_pence, order.total_pence) == (19_000, 95_000)
    assert order.kind is OrderKind.CALL_OFF and order.contract_id == contract.id


def test_without_a_school_price_the_contract_tier_applies(market):
    _contract(market, school_price=None)
    assert draft(market, quantity=5).unit_price_pence == 21_000


def test_beyond_what_a_contract_has_left_the_offer_price_applies(market):
    contract = _contract(market)
    contract.capacity = 12
    db.session.commit()
    first = draft(market, quantity=8)
    drafting.submit(first.id, market.school_a.id, market.sbm_a)
    assert first.kind is OrderKind.CALL_OFF and first.contract_id == contract.id
    # 4 days left: 5 more are not a call-off but an order at the offer's £250 a day.
    beyond = draft(market, quantity=5)
    assert (beyond.kind, beyond.contract_id, beyond.unit_price_pence) == (
        OrderKind.ORDER,
        None,
        25_000,
    )
    within = draft(market, quantity=4)
    assert (within.contract_id, within.unit_price_pence) == (contract.id, 19_000)


def test_a_contracts_maximum_value_also_limits_its_price(market):
    contract = _contract(market)
    contract.value_pence = 100_000  # £1,000: five days at £190 fit, six do not
    db.session.commit()
    assert draft(market, quantity=5).contract_id == contract.id
    assert draft(market, quantity=6).contract_id is None


def test_a_draft_at_the_contract_price_is_repriced_at_submit_once_the_room_has_gone(market):
    contract = _contract(market)
    contract.capacity = 10
    db.session.commit()
    waiting = draft(market, quantity=6)
    assert waiting.contract_id == contract.id
    taken = draft(market, quantity=6)
    drafting.submit(taken.id, market.school_a.id, market.sbm_a)  # 4 left now
    before = counts()
    with pytest.raises(PriceChanged, match="now costs £1,500.00 \\(was £1,140.00\\)"):
        drafting.submit(waiting.id, market.school_a.id, market.sbm_a)
    assert counts() == before


@pytest.mark.parametrize("case", ["pending", "other provider", "other school"])
def test_the_offer_price_applies_outside_an_active_contract_with_that_provider(market, case):
    if case == "pending":
        _contract(market, status=ContractStatus.PENDING)
    elif case == "other provider":
        _contract(market, provider=market.provider_b)
    else:
        _contract(market)
    school_id = market.school_b.id if case == "other school" else market.school_a.id
    actor = market.sbm_b if case == "other school" else market.sbm_a
    order = draft(market, quantity=5, school_id=school_id, actor=actor)
    assert order.unit_price_pence == 25_000
    assert order.contract_id is None


def test_a_call_off_without_an_offer_goes_through_the_lifecycle_without_offer_capacity(market):
    """Procurement creates call-offs (no offer); the lifecycle functions still run them."""
    order = Order(
        school_id=market.school_a.id,
        provider_id=market.provider_a.id,
        service_id=market.service.id,
        kind=OrderKind.CALL_OFF,
        term_key=term_key(),
        quantity=4,
        unit_price_pence=20_000,
        total_pence=80_000,
        po_number="CALL-1",
    )
    db.session.add(order)
    db.session.commit()
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    decisions.confirm(order.id, market.provider_a.id, market.provider_user_a)
    decisions.cancel(order.id, market.school_a.id, market.sbm_a)
    assert order.status is OrderStatus.CANCELLED
    assert reserved(market.offer_a.id) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
