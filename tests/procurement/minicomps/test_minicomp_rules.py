"""The pure rules of a mini-competition: who wins (lowest compliant price, weighted score),
ties broken deterministically and explained, compliance, sealing and notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from procurement.minicomps import rules
from procurement.minicomps.rules import LOWEST_PRICE, WEIGHTED, QuoteToJudge, Stage

T = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def q(quote_id: int, price: int, minutes: int = 0, **values: object) -> QuoteToJudge:
    return QuoteToJudge(
        quote_id=quote_id,
        unit_price_pence=price,
        received_at=T + timedelta(minutes=minutes),
        compliant=values.pop("compliant", True),
        **values,
    )


def test_the_lowest_compliant_price_wins():
    decision = rules.decide([q(1, 30_000), q(2, 28_000), q(3, 29_000)], LOWEST_PRICE)
    assert [j.quote_id for j in decision.ranking] == [2, 3, 1]
    assert decision.winner.quote_id == 2
    assert "£280.00" in decision.explanation


def test_a_cheaper_quote_that_is_not_compliant_cannot_win():
    decision = rules.decide([q(1, 30_000), q(2, 10_000, compliant=False)], LOWEST_PRICE)
    assert [j.quote_id for j in decision.ranking] == [1]
    assert "1 quote was not compliant" in decision.explanation


def test_no_compliant_quote_means_no_winner():
    decision = rules.decide([q(1, 30_000, compliant=False)], LOWEST_PRICE)
    assert decision.winner is None
    assert "No compliant quote" in decision.explanation


def test_equal_lowest_prices_go_to_the_quote_received_first_and_say_so():
    decision = rules.decide([q(1, 28_000, minutes=30), q(2, 28_000, minutes=5)], LOWEST_PRICE)
    assert decision.winner.quote_id == 2
    assert "2 quotes tied on price: the quote received first wins." in decision.explanation


def test_equal_prices_received_together_go_to_the_better_framework_rank():
    decision = rules.decide(
        [q(1, 28_000, framework_rank=2), q(2, 28_000, framework_rank=1)], LOWEST_PRICE
    )
    assert decision.winner.quote_id == 2
    assert "ranked higher on the framework" in decision.explanation


def test_the_weighted_score_can_prefer_quality_over_a_lower_price():
    # 70/30: A = 70 × 440/465 + 30 × 0.85 = 91.74; B = 70 + 30 × 0.70 = 91.00.
    decision = rules.decide([q(1, 46_500, quality=85), q(2, 44_000, quality=70)], WEIGHTED, 70, 30)
    assert decision.winner.quote_id == 1
    assert decision.ranking[0].total_hundredths == 9174
    assert decision.ranking[1].total_hundredths == 9100
    assert "91.74 out of 100" in decision.explanation


def test_equal_weighted_totals_go_to_the_lower_price():
    # A: 50 × 200/400 + 50 × 1.0 = 75; B: 50 × 1 + 50 × 0.5 = 75.
    decision = rules.decide(
        [q(1, 40_000, quality=100), q(2, 20_000, quality=50, minutes=60)], WEIGHTED, 50, 50
    )
    assert decision.ranking[0].total == decision.ranking[1].total
    assert decision.winner.quote_id == 2
    assert "tied on total score: the lower price wins" in decision.explanation


def test_a_weighted_award_needs_every_compliant_quote_scored():
    with pytest.raises(rules.JudgingError, match="Score the quality"):
        rules.decide([q(1, 40_000, quality=80), q(2, 30_000)], WEIGHTED, 60, 40)


def test_weights_must_add_up_to_100_with_some_weight_on_price():
    assert rules.weights_problem(WEIGHTED, 60, 30) is not None
    assert rules.weights_problem(WEIGHTED, 0, 100) is not None
    assert rules.weights_problem(WEIGHTED, 60, 40) is None
    assert rules.weights_problem(LOWEST_PRICE, 0, 0) is None


def test_quotes_are_sealed_until_opened_even_after_the_deadline():
    deadline = T + timedelta(days=3)
    assert rules.stage("open", deadline, deadline - timedelta(seconds=1)) is Stage.OPEN
    assert rules.stage("open", deadline, deadline) is Stage.CLOSED
    assert rules.quotes_sealed(Stage.OPEN) and rules.quotes_sealed(Stage.CLOSED)
    assert rules.quotes_sealed(Stage.CANCELLED)
    assert not rules.quotes_sealed(Stage.OPENED) and not rules.quotes_sealed(Stage.AWARDED)


def test_the_deadline_is_at_least_two_working_days_ahead_skipping_weekends_and_bank_holidays():
    thursday = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)  # Good Friday 3 April, Easter Monday 6th
    assert rules.earliest_deadline_day(thursday).isoformat() == "2026-04-08"
    assert rules.deadline_problem(datetime(2026, 4, 7, 11, 0, tzinfo=UTC), thursday) is not None
    assert rules.deadline_problem(datetime(2026, 4, 8, 11, 0, tzinfo=UTC), thursday) is None
