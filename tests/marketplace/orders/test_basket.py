"""The basket as use cases: lines checked as orders are, priced afresh, checked out as one
order per line under one purchase-order number, all or nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.calendar import term_label
from app.extensions import db
from app.time import london_today
from marketplace.offers.models import OfferCapacity, OfferStatus
from marketplace.orders import basket
from marketplace.orders.errors import (
    BasketChanged,
    BasketLineNotFound,
    CapacityExhausted,
    CheckoutNotFound,
    CheckoutRefused,
    InvalidOrder,
    OfferUnavailable,
)
from marketplace.orders.models import BasketLine, Checkout, Order, OrderStatus
from tests.marketplace.conftest import counts, reserved, term_key


def add(world, offer=None, quantity=5, **kwargs):
    return basket.add_line(
        school_id=kwargs.pop("school_id", world.school_a.id),
        offer_id=(offer or world.offer_a).id,
        term_key=kwargs.pop("term_key", term_key()),
        quantity=quantity,
        actor=kwargs.pop("actor", world.sbm_a),
        **kwargs,
    )


def check_out(world, po_number="PO-BASKET-1", school_id=None):
    school_id = school_id or world.school_a.id
    shown = basket.school_basket(school_id, london_today())
    return basket.checkout(
        school_id, world.sbm_a, po_number=po_number, fingerprint=shown.fingerprint
    )


def lines(school_id: int) -> list[BasketLine]:
    return list(db.session.scalars(sa.select(BasketLine).where(BasketLine.school_id == school_id)))


def test_a_basket_groups_lines_by_provider_and_prices_each_at_its_quantity(market):
    add(market, market.offer_a, 20)  # £230 a day from 20
    add(market, market.offer_b, 4)  # £270 a day

    shown = basket.school_basket(market.school_a.id, london_today())

    assert [g.provider_name for g in shown.groups] == ["Alpha Counselling Ltd", "Beta Therapy Ltd"]
    assert [g.total_pence for g in shown.groups] == [460_000, 108_000]
    assert shown.total_pence == 568_000
    assert shown.problems == []


def test_adding_the_same_offer_and_term_again_adds_to_the_quantity(market):
    add(market, quantity=5)
    line = add(market, quantity=3)
    assert line.quantity == 8
    assert len(lines(market.school_a.id)) == 1


def test_adding_a_line_uses_the_order_rules_and_writes_nothing_when_refused(market):
    with pytest.raises(InvalidOrder, match="whole number"):
        add(market, quantity="five")
    with pytest.raises(InvalidOrder, match="Choose the term"):
        add(market, term_key="summer")
    with pytest.raises(CapacityExhausted, match="only 100 days left"):
        add(market, quantity=101)
    add(market, quantity=60)
    with pytest.raises(CapacityExhausted):
        add(market, quantity=41)  # 60 + 41 is more than the term holds
    market.offer_b.status = OfferStatus.WITHDRAWN
    db.session.commit()
    with pytest.raises(OfferUnavailable, match="withdrawn"):
        add(market, market.offer_b)
    assert [line.quantity for line in lines(market.school_a.id)] == [60]


def test_a_retired_service_cannot_go_in_the_basket(market):
    market.service.active = False
    db.session.commit()
    with pytest.raises(OfferUnavailable, match="retired"):
        add(market)
    assert lines(market.school_a.id) == []


def test_a_line_withdrawn_since_it_was_added_names_its_problem(market):
    add(market, market.offer_a, 5)
    add(market, market.offer_b, 5)
    market.offer_b.status = OfferStatus.WITHDRAWN
    db.session.commit()

    shown = basket.school_basket(market.school_a.id, london_today())

    [problem] = shown.problems
    assert problem.offer.id == market.offer_b.id
    assert "withdrawn by the provider" in (problem.problem or "")
    assert shown.total_pence == 125_000  # only the line that can still be ordered


def test_checkout_places_one_order_per_line_with_one_po_number_and_empties_the_basket(market):
    add(market, market.offer_a, 12)  # £3,000: over school A's £2,500 threshold
    add(market, market.offer_b, 4)  # £1,080: within it

    done = check_out(market, "PO-2026-55")

    orders = sorted(done.orders, key=lambda o: o.provider_id)
    assert [o.provider_id for o in orders] == [market.provider_a.id, market.provider_b.id]
    assert {o.po_number for o in orders} == {"PO-2026-55"}
    assert [o.status for o in orders] == [OrderStatus.SUBMITTED, OrderStatus.APPROVED]
    assert [o.total_pence for o in orders] == [300_000, 108_000]
    assert reserved(market.offer_a.id) == 12
    assert reserved(market.offer_b.id) == 4
    assert lines(market.school_a.id) == []
    assert basket.get_checkout_for_school(done.id, market.school_a.id).po_number == "PO-2026-55"


def test_checkout_is_all_or_nothing_and_names_every_problem(market):
    add(market, market.offer_a, 5)
    add(market, market.offer_b, 10)
    shown = basket.school_basket(market.school_a.id, london_today())
    # Between looking and ordering, someone else takes offer B's capacity.
    db.session.execute(
        sa.update(OfferCapacity)
        .where(OfferCapacity.offer_id == market.offer_b.id, OfferCapacity.term_key == term_key())
        .values(reserved=OfferCapacity.capacity - 3)
    )
    db.session.commit()
    before = counts()

    with pytest.raises(BasketChanged):
        basket.checkout(
            market.school_a.id, market.sbm_a, po_number="PO-1", fingerprint=shown.fingerprint
        )
    # Confirming the basket as it now stands still refuses: the line is short of capacity.
    with pytest.raises(CheckoutRefused) as refused:
        check_out(market, "PO-1")

    term = term_label(term_key())
    assert refused.value.problems == [
        f"School counselling from Beta Therapy Ltd, {term}: Capacity ran out: Beta Therapy Ltd "
        f"has only 3 days left for {term}, and this order needs 10."
    ]
    assert counts() == before
    assert reserved(market.offer_a.id) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Checkout)) == 0
    assert len(lines(market.school_a.id)) == 2


def test_checkout_refuses_a_missing_po_number_and_an_empty_basket(market):
    add(market)
    with pytest.raises(InvalidOrder, match="purchase-order number") as missing:
        check_out(market, "  ")
    assert missing.value.field == "po_number"
    assert counts()[0] == 0
    check_out(market)
    with pytest.raises(BasketChanged, match="empty"):
        basket.checkout(market.school_a.id, market.sbm_a, po_number="PO-2", fingerprint="x")


def test_changing_a_quantity_is_checked_and_removing_a_line_empties_it(market):
    line = add(market, quantity=5)
    basket.change_quantity(line.id, market.school_a.id, quantity=25, actor=market.sbm_a)
    assert basket.school_basket(market.school_a.id, london_today()).total_pence == 25 * 23_000
    with pytest.raises(InvalidOrder, match="at least 1"):
        basket.change_quantity(line.id, market.school_a.id, quantity=0, actor=market.sbm_a)
    assert lines(market.school_a.id)[0].quantity == 25
    basket.remove_line(line.id, market.school_a.id, market.sbm_a)
    assert lines(market.school_a.id) == []


def test_another_schools_basket_and_checkouts_are_not_found(market):
    add(market)
    done = check_out(market)
    other = add(market, school_id=market.school_b.id, actor=market.sbm_b)
    with pytest.raises(BasketLineNotFound):
        basket.change_quantity(other.id, market.school_a.id, quantity=2, actor=market.sbm_a)
    with pytest.raises(BasketLineNotFound):
        basket.remove_line(other.id, market.school_a.id, market.sbm_a)
    with pytest.raises(CheckoutNotFound):
        basket.get_checkout_for_school(done.id, market.school_b.id)
    assert basket.line_count(market.school_a.id) == 0
    assert basket.line_count(market.school_b.id) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
