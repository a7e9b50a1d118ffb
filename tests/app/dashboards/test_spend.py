"""Income, spend and a provider's orders, worked out by hand on a small world."""

from __future__ import annotations

from datetime import timedelta

from app.calendar import Term
from app.dashboards.billing import owed
from app.dashboards.spend import (
    income_by_stream,
    orders_by_status,
    spend_by_category,
    spend_by_service,
)
from app.extensions import db
from app.models import Grant
from marketplace.orders import decisions
from tests.app.dashboards.support import booked
from tests.marketplace.conftest import draft


def test_income_by_stream_adds_capped_subscriptions_the_match_traded_fees_and_grants(market, year):
    booked(market, quantity=5)  # 5 × £250 = £1,250
    draft(market, quantity=3)  # a draft is not income
    db.session.add_all(
        [
            Grant(source="DfE", amount_pence=1_000_000, received_on=year.starts_on),
            Grant(source="Council", amount_pence=250_000, received_on=year.ends_on),
            Grant(source="DfE", amount_pence=999_900, received_on=year.ends_on + timedelta(1)),
        ]
    )
    db.session.commit()

    table = income_by_stream([year])

    # 300 × £14 = £4,200; 1,000 × £14 = £14,000 capped at £12,500. Match: half of each.
    # Traded services: the partnership's 5% fee on the £1,250 booked is income, the £1,250 not.
    assert table.rows == ((year.label, 1_670_000, 6_250, 835_000, 1_250_000, 3_761_250, 125_000),)
    assert income_by_stream([year], fee_bp=1_000).rows[0][2] == 12_500


def test_a_cancelled_order_counts_only_the_charge_kept(market, year):
    market.offer_a.cancellation_charge_bp = 1_000
    db.session.commit()
    order = booked(market, quantity=5)
    decisions.cancel(
        order.id,
        market.school_a.id,
        market.sbm_a,
        today=Term.parse(order.term_key).starts_on - timedelta(30),
    )
    assert income_by_stream([year]).rows[0][2:7:4] == (625, 12_500)  # the fee; the charge kept
    assert spend_by_category(year).rows[0][1] == 12_500


def test_spend_by_category_and_by_service_for_one_school(market, year):
    booked(market, quantity=5)
    booked(market, quantity=2, school_id=market.school_b.id, actor=market.sbm_b)
    category = market.offer_a.service.category.label
    assert spend_by_category(year).rows == ((category, 175_000, 2),)
    assert spend_by_category(year, market.school_b.id).rows == ((category, 50_000, 1),)
    assert spend_by_service(year, market.school_a.id).rows == (
        (market.offer_a.service.name, 125_000, 1),
    )
    assert spend_by_service(year.__class__(year.start_year - 1), market.school_a.id).rows == ()


def test_a_providers_orders_by_status_and_what_it_is_owed(market, year):
    booked(market, quantity=5)
    delivered = booked(market, quantity=4)
    decisions.deliver(
        delivered.id,
        market.provider_a.id,
        market.provider_user_a,
        today=decisions.starts_on(delivered),
    )
    draft(market, quantity=2)  # the school's own until sent
    table = orders_by_status(market.provider_a.id, year)
    assert table.rows == (("Confirmed", 1, 125_000), ("Delivered", 1, 100_000))
    (owed_row,) = owed(market.provider_a.id).rows
    assert owed_row[1:] == (1, 100_000, 5_000, 95_000)  # less the 5% fee
    assert orders_by_status(market.provider_b.id, year).rows == ()
