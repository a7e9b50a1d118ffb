"""The price shown to a school: at the quantity it would buy, and 'from' only with its quantity."""

from __future__ import annotations

import pytest

from marketplace.offers.pricing import PricingError, Tier, price_at_quantity, typical_quantity

COUNSELLING = [Tier(1, 29_000), Tier(20, 25_000), Tier(150, 21_500)]


def test_a_small_order_is_priced_at_its_own_tier_with_the_lowest_price_and_where_it_starts():
    price = price_at_quantity(COUNSELLING, 5)
    assert (price.quantity, price.unit_price_pence) == (5, 29_000)
    assert (price.lowest_unit_price_pence, price.lowest_from_quantity) == (21_500, 150)
    assert not price.is_lowest


def test_an_order_that_reaches_the_top_tier_has_no_lower_price_to_show():
    price = price_at_quantity(COUNSELLING, 150)
    assert price.unit_price_pence == 21_500
    assert price.is_lowest


@pytest.mark.parametrize(("quantity", "expected"), [(19, 29_000), (20, 25_000), (149, 25_000)])
def test_tier_boundaries_are_all_units(quantity, expected):
    assert price_at_quantity(COUNSELLING, quantity).unit_price_pence == expected


def test_a_quantity_below_the_smallest_tier_is_priced_at_the_smallest_order():
    price = price_at_quantity([Tier(10, 5_000), Tier(30, 4_000)], 3)
    assert (price.quantity, price.unit_price_pence) == (10, 5_000)


def test_a_tier_starting_at_zero_reads_as_from_one_unit():
    price = price_at_quantity([Tier(0, 900)], 1)
    assert (price.lowest_from_quantity, price.is_lowest) == (1, True)


def test_an_offer_without_prices_cannot_be_priced():
    with pytest.raises(PricingError):
        price_at_quantity([], 5)


def test_the_typical_quantity_is_what_the_school_last_ordered():
    assert typical_quantity(last_ordered=5, min_quantity=10, tiers=COUNSELLING) == 5


def test_without_a_last_order_the_typical_quantity_is_the_offers_minimum_order():
    assert typical_quantity(last_ordered=None, min_quantity=3, tiers=COUNSELLING) == 3
    assert typical_quantity(last_ordered=None, min_quantity=1, tiers=[Tier(10, 500)]) == 10
    assert typical_quantity(last_ordered=0, min_quantity=0, tiers=[Tier(0, 500)]) == 1
