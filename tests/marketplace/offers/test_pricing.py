"""The pure rules: tier prices, entitlements, contract prices, cancellation, eligibility."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.offers.pricing import (
    CancellationRules,
    PriceSource,
    PricingError,
    Tier,
    contract_unit_price,
    quote,
    settle_cancellation,
    tier_for,
)
from marketplace.orders import rules

COUNSELLING = [Tier(0, 29_000), Tier(20, 26_500), Tier(60, 24_000), Tier(150, 21_500)]


@pytest.mark.parametrize(
    ("quantity", "unit_price"),
    [(1, 29_000), (19, 29_000), (20, 26_500), (59, 26_500), (60, 24_000), (1000, 21_500)],
)
def test_every_unit_costs_the_price_of_the_band_the_whole_quantity_reaches(quantity, unit_price):
    assert tier_for(COUNSELLING, quantity).unit_price_pence == unit_price
    assert quote(quantity, COUNSELLING).total_pence == quantity * unit_price


def test_tiers_need_not_be_sorted():
    assert tier_for(list(reversed(COUNSELLING)), 25).unit_price_pence == 26_500


@pytest.mark.parametrize("quantity", [0, -3])
def test_a_quantity_below_one_has_no_price(quantity):
    with pytest.raises(PricingError, match="at least 1"):
        quote(quantity, COUNSELLING)


def test_an_order_below_the_first_band_is_refused_with_the_smallest_order():
    with pytest.raises(PricingError, match="priced from 5 units"):
        tier_for([Tier(5, 1_000)], 3)


def test_the_setup_charge_is_added_once_per_order():
    priced = quote(3, [Tier(0, 31_000)], setup_pence=25_000)
    assert (priced.units_pence, priced.setup_pence, priced.total_pence) == (93_000, 25_000, 118_000)
    assert priced.source is PriceSource.OFFER
    assert priced.tier_min_quantity == 0


def test_entitled_units_are_free_and_the_rest_pay_the_traded_price():
    priced = quote(3, [Tier(0, 40_000)], entitlement_left=2)
    assert (priced.entitled_quantity, priced.charged_quantity) == (2, 1)
    assert priced.total_pence == 40_000
    assert priced.source is PriceSource.OFFER


def test_an_order_wholly_covered_by_the_entitlement_costs_nothing_not_even_setup():
    priced = quote(2, [Tier(0, 40_000)], entitlement_left=5, setup_pence=9_900)
    assert priced.entitled_quantity == 2
    assert priced.total_pence == 0
    assert priced.source is PriceSource.ENTITLEMENT


def test_a_contract_price_replaces_the_tiers_and_the_setup_charge():
    priced = quote(10, COUNSELLING, contract_unit_price_pence=20_000, setup_pence=25_000)
    assert priced.total_pence == 200_000
    assert priced.source is PriceSource.CONTRACT


def test_the_school_agreed_contract_price_wins_over_the_contract_tiers():
    tiers = [Tier(0, 25_000), Tier(10, 22_000)]
    assert contract_unit_price(19_500, tiers, 3) == 19_500
    assert contract_unit_price(None, tiers, 12) == 22_000
    assert contract_unit_price(None, [], 12) is None


@given(
    quantity=st.integers(1, 5000),
    left=st.integers(-5, 5000),
    setup=st.integers(0, 100_000),
)
def test_a_quote_always_adds_up(quantity, left, setup):
    priced = quote(quantity, COUNSELLING, entitlement_left=left, setup_pence=setup)
    assert 0 <= priced.entitled_quantity <= quantity
    assert priced.total_pence == (
        priced.charged_quantity * priced.unit_price_pence + priced.setup_pence
    )
    assert priced.total_pence >= 0


# Cancellation -----------------------------------------------------------------------------

AUTUMN = (date(2026, 9, 1), date(2026, 12, 31))  # 122 days
RULES = CancellationRules(notice_days=30, admin_charge_bp=1_000)


def settle(total: int, cancelled_on: date, *, confirmed: bool = True, rules_=RULES):
    return settle_cancellation(
        total,
        confirmed=confirmed,
        rules=rules_,
        term_starts_on=AUTUMN[0],
        term_ends_on=AUTUMN[1],
        cancelled_on=cancelled_on,
    )


def test_cancelling_before_the_provider_confirms_is_free_even_inside_the_notice_period():
    result = settle(290_000, date(2026, 12, 20), confirmed=False)
    assert result.allowed
    assert (result.charge_pence, result.refund_pence) == (0, 290_000)


def test_with_enough_notice_the_refund_is_full_less_the_admin_charge():
    result = settle(290_000, date(2026, 8, 1))  # notice ends 31 August, before the term
    assert result.allowed
    assert (result.used_pence, result.admin_pence) == (0, 29_000)
    assert (result.charge_pence, result.refund_pence) == (29_000, 261_000)


def test_days_of_the_term_inside_the_notice_period_are_charged_pro_rata():
    # Cancelled 21 August: notice ends 20 September, so 19 of the term's 122 days are charged.
    result = settle(122_000, date(2026, 8, 21))
    assert result.used_pence == 19_000
    assert result.admin_pence == 12_200
    assert result.charge_pence == 31_200
    assert result.refund_pence == 90_800
    assert "19 of the term’s 122 days" in result.reason


def test_cancelling_is_refused_when_the_notice_would_run_past_the_end_of_the_term():
    result = settle(122_000, date(2026, 12, 10))
    assert not result.allowed
    assert "can no longer be cancelled" in result.reason
    assert result.charge_pence == 122_000


def test_with_no_notice_and_no_charge_a_school_pays_only_for_days_gone():
    result = settle(122_000, date(2026, 10, 1), rules_=CancellationRules(0, 0))
    assert result.allowed
    assert (result.used_pence, result.admin_pence) == (30_000, 0)


@given(
    total=st.integers(0, 10**9),
    offset=st.integers(-200, 200),
    notice=st.integers(0, 365),
    charge=st.integers(0, 10_000),
)
def test_charge_and_refund_always_add_up_to_the_order_value(total, offset, notice, charge):
    result = settle(
        total,
        date(2026, 9, 1).fromordinal(date(2026, 9, 1).toordinal() + offset),
        rules_=CancellationRules(notice, charge),
    )
    assert result.charge_pence + result.refund_pence == total
    assert 0 <= result.charge_pence <= total


# Who may order what ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "at least 1"),
        (-2, "at least 1"),
        (2.5, "whole number"),
        ("5", "whole number"),
        (True, "whole number"),
        (None, "whole number"),
        (rules.MAX_ORDER_QUANTITY + 1, "100,000 or fewer"),
        (2, "minimum order of 3 days"),
    ],
)
def test_bad_quantities_get_a_clear_message(quantity, message):
    assert message in rules.quantity_problem(quantity, min_quantity=3, unit="day")


def test_a_good_quantity_has_no_problem():
    assert rules.quantity_problem(3, min_quantity=3) is None


@pytest.mark.parametrize(
    ("status", "valid_to", "message"),
    [
        ("withdrawn", date(2027, 8, 31), "withdrawn"),
        ("draft", date(2027, 8, 31), "not published"),
        ("live", date(2026, 11, 1), "expired on 1 November 2026"),
        ("live", date(2027, 8, 31), None),
    ],
)
def test_only_live_unexpired_offers_can_be_ordered(status, valid_to, message):
    problem = rules.offer_problem(
        status=status, valid_from=date(2026, 9, 1), valid_to=valid_to, today=date(2026, 11, 22)
    )
    assert problem == message if message is None else message in problem


def test_an_offer_can_serve_some_areas_and_exclude_schools():
    def check(**kwargs):
        values = {"areas": [], "excluded_school_ids": [], "school_id": 1, "school_area": "Acton"}
        return rules.eligibility_problem(**{**values, **kwargs})

    assert check() is None
    assert "Only offered in Ealing, Hanwell" in check(areas=["Hanwell", "Ealing"])
    assert check(areas=["Acton"]) is None
    assert "does not offer this to your school" in check(excluded_school_ids=[1])
    assert "own school" in check(school_provider_id=7, offer_provider_id=7)


def test_a_term_needs_the_offer_to_run_in_it_and_the_lead_time_to_fit():
    def check(earliest, valid_to=date(2027, 8, 31)):
        return rules.term_problem(
            term_label="Autumn 2026/27",
            term_starts_on=AUTUMN[0],
            term_ends_on=AUTUMN[1],
            valid_from=date(2026, 9, 1),
            valid_to=valid_to,
            earliest_start=earliest,
        )

    assert check(date(2026, 12, 7)) is None
    assert "Too late to order for Autumn 2026/27" in check(date(2027, 1, 4))
    assert "does not run in Autumn" in check(date(2026, 12, 7), valid_to=date(2026, 8, 31))
