"""Contracts' pure rules: indexation rounds half up to the penny, an extension needs the
contract to allow it, two people for every change, a termination falls within the contract."""

from __future__ import annotations

from datetime import date

import pytest

from procurement.contracts import rules

START, END = date(2026, 9, 1), date(2028, 8, 31)


@pytest.mark.parametrize(
    ("pence", "bp", "expected"),
    [
        (23_457, 320, 24_208),  # £242.0762… → £242.08
        (21_983, 320, 22_686),  # £226.86456 → £226.86
        (250, 150, 254),  # £2.5375 → £2.54
        (1_000, 25, 1_003),  # £10.025 exactly: the half goes up → £10.03
        (1_000, -25, 998),  # −0.25%: £9.975 exactly → £9.98 (half away from zero)
        (20_000, -1_000, 18_000),
    ],
)
def test_indexation_moves_a_price_and_rounds_half_up_to_the_penny(pence, bp, expected):
    assert rules.indexed_price(pence, bp) == expected


def test_an_indexation_must_be_a_real_change_within_fifty_percent():
    assert rules.indexation_problem(0, [1_000]) == "Enter a percentage other than 0"
    assert "between −50% and 50%" in rules.indexation_problem(5_001, [1_000])
    assert "between −50% and 50%" in rules.indexation_problem(-5_001, [1_000])
    assert rules.indexation_problem(5_000, [1_000]) is None
    assert rules.indexation_problem(-5_000, [1]) is None  # 0.5p rounds up to 1p
    assert rules.indexation_problem(-5_000, [1_000, 1]) is None
    assert rules.indexation_problem(320, [23_457, 21_983]) is None


def test_an_extension_needs_the_contract_to_allow_it_and_stays_within_the_limit():
    later = date(2029, 2, 28)
    assert rules.extension_problem(END, later, None) == "This contract does not allow an extension"
    assert "after the current one" in rules.extension_problem(END, END, date(2029, 8, 31))
    assert "after the current one" in rules.extension_problem(END, date(2028, 1, 1), later)
    assert rules.extension_problem(END, date(2029, 3, 1), later) == (
        "The contract can be extended to 28 February 2029 at most"
    )
    assert rules.extension_problem(END, later, later) is None


def test_the_extension_limit_is_after_the_current_end_or_none():
    assert rules.extension_limit_problem(START, END, None) is None
    assert "after the contract’s current end" in rules.extension_limit_problem(START, END, END)
    assert rules.extension_limit_problem(START, END, date(2029, 8, 31)) is None
    assert "ten years" in rules.extension_limit_problem(START, END, date(2037, 1, 1))


def test_new_prices_need_one_positive_price_per_tier_and_a_difference():
    assert (
        rules.new_prices_problem([100, 90], [110])
        == "Enter a new price for each of the 2 price tiers"
    )
    assert rules.new_prices_problem([100, 90], [110, None]) == (
        "Enter a new price for tier 2, more than £0"
    )
    assert rules.new_prices_problem([100, 90], [100, 90]) == (
        "The new prices are the same as the current ones"
    )
    assert rules.new_prices_problem([100, 90], [105, 95]) is None


def test_a_new_capacity_is_positive_and_different():
    assert rules.capacity_problem(500, 0) == "Enter a capacity of at least 1 unit"
    assert rules.capacity_problem(500, 500) == "The new capacity is the same as the current one"
    assert rules.capacity_problem(None, 500) is None
    assert rules.capacity_problem(500, 800) is None
    assert rules.capacity_problem(500, 300, called_off=300) is None
    assert rules.capacity_problem(500, 299, called_off=300) == (
        "The new capacity cannot be below the 300 units already called off under this contract"
    )


def test_a_change_takes_effect_during_the_contract():
    assert rules.effective_date_problem(START, END, START) is None
    assert rules.effective_date_problem(START, END, END) is None
    assert "during the contract" in rules.effective_date_problem(START, END, date(2026, 8, 31))
    assert "during the contract" in rules.effective_date_problem(START, END, date(2028, 9, 1))


def test_whoever_proposed_a_change_cannot_approve_it():
    assert "another committee member or admin" in rules.second_approver_problem(7, 7)
    assert rules.second_approver_problem(7, 8) is None


def test_a_termination_takes_effect_from_the_first_to_the_last_day_of_the_contract():
    assert rules.termination_problem(START, END, START) is None
    assert rules.termination_problem(START, END, END) is None
    assert "before the contract starts" in rules.termination_problem(START, END, date(2026, 8, 1))
    assert "ends on 31 August 2028 anyway" in rules.termination_problem(
        START, END, date(2028, 9, 1)
    )
