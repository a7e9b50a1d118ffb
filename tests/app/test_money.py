import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.money import MoneyError, format_pence, half_up, largest_remainder, parse_pounds, percent_of


@pytest.mark.parametrize(
    ("typed", "pence"),
    [("12", 1200), ("£1,250.50", 125050), ("0.5", 50), (" 3.07 ", 307), ("0", 0)],
)
def test_pounds_as_typed_become_pence(typed, pence):
    assert parse_pounds(typed) == pence


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter an amount"),
        ("ten", "is not an amount"),
        ("-5", "cannot be negative"),
        ("1.005", "two decimal places"),
        ("NaN", "is not an amount"),
        ("1e20", "too large"),
    ],
)
def test_bad_amounts_are_named(typed, message):
    with pytest.raises(MoneyError, match=message):
        parse_pounds(typed)


def test_zero_can_be_refused():
    with pytest.raises(MoneyError, match="more than £0"):
        parse_pounds("0.00", allow_zero=False)


def test_pence_are_shown_as_pounds():
    assert format_pence(123456) == "£1,234.56"
    assert format_pence(-500) == "−£5.00"
    assert format_pence(123456, show_pence=False) == "£1,235"
    assert format_pence(None) == "—"


def test_percentages_round_half_up_to_the_penny():
    assert percent_of(1001, 5000) == 501  # 500.5 → 501
    assert percent_of(999, 2000) == 200  # 199.8 → 200


def test_a_split_gives_the_leftover_pennies_to_the_largest_remainders():
    assert largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    assert largest_remainder(0, [0, 0]) == [0, 0]
    assert largest_remainder(0, []) == []


def test_a_positive_total_cannot_be_split_over_nothing():
    with pytest.raises(MoneyError):
        largest_remainder(10, [0, 0])
    with pytest.raises(MoneyError):
        largest_remainder(10, [])


def test_halves_round_away_from_zero():
    assert [half_up(n, 2) for n in (1, 3, -1, -3)] == [1, 2, -1, -2]
    assert half_up(2, 3) == 1 and half_up(1, 3) == 0


@given(
    total=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=30).filter(
        any
    ),
)
def test_shares_always_add_up_to_the_penny_and_follow_the_weights(total, weights):
    shares = largest_remainder(total, weights)
    assert sum(shares) == total
    assert all(s >= 0 for s in shares)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - total * weight / sum(weights)) < 1
