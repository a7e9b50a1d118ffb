"""The pure tender rules: the price formula, ranking and ties, notice and standstill dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from procurement.tenders.rules import (
    deadline_after_change,
    earliest_deadline_day,
    first_contract_day,
    standstill_end_instant,
    standstill_last_day,
    standstill_over,
)
from procurement.tenders.scoring import (
    BidToScore,
    EvaluationError,
    PriceTier,
    Weights,
    evaluated_price,
    hundredths,
    rank,
    suggested_score,
)

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
W = Weights(price=60, quality=30, social_value=10)


def bid(bid_id: int, tiers, quality=0, social=0, received=NOON):
    return BidToScore(
        bid_id=bid_id,
        received_at=received,
        tiers=tuple(PriceTier(q, p) for q, p in tiers),
        quality=quality,
        social_value=social,
    )


def test_the_evaluated_price_is_the_expected_volume_at_the_tier_it_reaches():
    tiers = [PriceTier(0, 29_000), PriceTier(60, 24_000), PriceTier(150, 21_500)]
    assert evaluated_price(tiers, 59) == 59 * 29_000
    assert evaluated_price(tiers, 60) == 60 * 24_000  # all-units: every unit at the tier price
    assert evaluated_price(tiers, 400) == 400 * 21_500


def test_a_bid_without_a_price_for_the_volume_cannot_be_evaluated():
    with pytest.raises(EvaluationError):
        evaluated_price([PriceTier(100, 20_000)], 50)


def test_the_cheapest_bid_gets_the_whole_price_weight_and_others_pro_rata():
    ranked = rank([bid(1, [(0, 20_000)]), bid(2, [(0, 25_000)])], W, 100)
    by_id = {s.bid_id: s for s in ranked}
    assert by_id[1].price_score == 60
    assert by_id[2].price_score == Fraction(60 * 20_000, 25_000)  # 48
    assert by_id[2].evaluated_price_pence == 2_500_000


def test_quality_and_social_value_count_by_their_weights():
    ranked = rank([bid(1, [(0, 20_000)], quality=50, social=100)], W, 10)
    assert ranked[0].quality_score == 15
    assert ranked[0].social_value_score == 10
    assert ranked[0].total == 85
    assert ranked[0].total_hundredths == 8500


def test_a_better_quality_bid_can_beat_a_cheaper_one():
    ranked = rank(
        [
            bid(1, [(0, 20_000)], quality=20, social=20),
            bid(2, [(0, 21_000)], quality=90, social=80),
        ],
        W,
        100,
    )
    assert [s.bid_id for s in ranked] == [2, 1]
    assert [s.rank for s in ranked] == [1, 2]


def test_equal_totals_go_to_the_bid_received_first():
    early = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    late = datetime(2026, 3, 5, 9, 1, tzinfo=UTC)
    ranked = rank(
        [
            bid(7, [(0, 20_000)], quality=50, social=50, received=late),
            bid(9, [(0, 20_000)], quality=50, social=50, received=early),
        ],
        W,
        100,
    )
    assert ranked[0].total == ranked[1].total
    assert [s.bid_id for s in ranked] == [9, 7]


def test_equal_totals_received_at_the_same_instant_go_to_the_lower_bid_number():
    ranked = rank([bid(8, [(0, 100)]), bid(3, [(0, 100)])], W, 1)
    assert [s.bid_id for s in ranked] == [3, 8]


def test_totals_are_shown_in_hundredths_rounded_half_up():
    assert hundredths(Fraction(12345, 1000)) == 1235  # 12.345 -> 12.35
    assert hundredths(Fraction(200, 3)) == 6667  # 66.666… -> 66.67


@pytest.mark.parametrize("weights", [(60, 30, 20), (-10, 60, 50), (50, 50, 1)])
def test_weights_must_add_up_to_100_and_not_be_negative(weights):
    with pytest.raises(EvaluationError):
        Weights(*weights)


@pytest.mark.parametrize("score", [-1, 101])
def test_scores_out_of_range_are_refused(score):
    with pytest.raises(EvaluationError):
        rank([bid(1, [(0, 100)], quality=score)], W, 1)


def test_moderation_starts_from_the_evaluators_mean_rounded_half_up():
    assert suggested_score([70, 75]) == 73  # 72.5 -> 73
    assert suggested_score([60]) == 60
    assert suggested_score([]) is None


def test_a_late_change_moves_the_deadline_to_the_third_working_day():
    deadline = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)  # Monday
    wednesday = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)
    thursday = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
    assert deadline_after_change(deadline, wednesday) == deadline  # Mon is the 3rd working day
    assert deadline_after_change(deadline, thursday) == datetime(2026, 3, 17, 12, 0, tzinfo=UTC)


def test_a_late_change_at_christmas_skips_the_bank_holidays():
    deadline = datetime(2026, 12, 29, 12, 0, tzinfo=UTC)  # Tuesday after Christmas
    christmas_eve = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    # 25 Dec (Fri) and 28 Dec (Boxing Day substitute) are bank holidays: 29, 30, 31 Dec.
    assert deadline_after_change(deadline, christmas_eve) == datetime(
        2026, 12, 31, 12, 0, tzinfo=UTC
    )


def test_the_deadline_keeps_its_london_time_across_the_clocks_going_forward():
    deadline = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # Friday, 12:00 GMT
    changed = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)
    # Three working days after Thursday 26 March is Tuesday 31 March (BST): 12:00 London.
    assert deadline_after_change(deadline, changed) == datetime(2026, 3, 31, 11, 0, tzinfo=UTC)


def test_earliest_deadline_counts_working_days_only():
    assert earliest_deadline_day(datetime(2026, 4, 2, 10, 0, tzinfo=UTC)) == date(2026, 4, 9)


def test_standstill_across_christmas_and_new_year():
    decided = datetime(2026, 12, 18, 15, 0, tzinfo=UTC)  # Friday
    # 21 22 23 24 (25, 28 holidays) 29 30 31 (1 Jan holiday) 4 Jan = 8 working days.
    last = standstill_last_day(decided)
    assert last == date(2027, 1, 4)
    assert first_contract_day(last) == date(2027, 1, 5)
    assert not standstill_over(last, datetime(2027, 1, 4, 23, 0, tzinfo=UTC))  # 23:00 London
    assert standstill_over(last, datetime(2027, 1, 5, 0, 0, tzinfo=UTC))
    assert standstill_end_instant(last) == datetime(2027, 1, 5, 0, 0, tzinfo=UTC)


def test_standstill_across_easter():
    decided = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)  # Wednesday before Good Friday (3 April)
    # 2 (3 Good Friday, 6 Easter Monday) 7 8 9 10 13 14 15.
    assert standstill_last_day(decided) == date(2026, 4, 15)


def test_the_standstill_ends_at_midnight_london_time_in_summer():
    last = date(2026, 7, 10)
    assert standstill_end_instant(last) == datetime(2026, 7, 10, 23, 0, tzinfo=UTC)  # BST
    assert not standstill_over(last, datetime(2026, 7, 10, 22, 59, tzinfo=UTC))
    assert standstill_over(last, datetime(2026, 7, 10, 23, 0, tzinfo=UTC))
