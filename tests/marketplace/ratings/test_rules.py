"""The pure rules of ratings: scores from 1 to 5, averages only from three ratings up, rated
once, replied to once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.ratings import rules
from marketplace.ratings.rules import Scores


def test_averages_are_held_back_below_three_ratings():
    two = rules.summarise([Scores(5, 5, 5), Scores(1, 1, 1)])
    assert two.count == 2 and not two.shown
    assert (two.quality, two.timeliness, two.communication, two.overall) == (None,) * 4
    three = rules.summarise([Scores(5, 5, 5), Scores(1, 1, 1), Scores(3, 3, 3)])
    assert three.shown and three.overall == Decimal("3.00")


def test_averages_are_per_dimension_and_overall_to_two_places_half_up():
    summary = rules.summarise([Scores(5, 4, 3), Scores(4, 4, 2), Scores(4, 3, 2)])
    assert summary.quality == Decimal("4.33")
    assert summary.timeliness == Decimal("3.67")
    assert summary.communication == Decimal("2.33")
    # 31 points over 9 scores = 3.444…
    assert summary.overall == Decimal("3.44")
    assert summary.dimensions()[0] == ("Quality", "4.3")
    assert summary.text() == "3.4" and summary.text("timeliness") == "3.7"
    assert rules.summarise([Scores(1, 1, 1)]).text() == ""
    # One place, half up: 4.25 → 4.3 (not 4.2, as a float would round it).
    assert rules.Summary(count=3, overall=Decimal("4.25")).text() == "4.3"
    # Half up: 4.125 → 4.13 (8 ratings of quality adding to 33).
    eight = [Scores(5, 1, 1)] * 1 + [Scores(4, 1, 1)] * 7
    assert rules.average_of(eight, "quality") == Decimal("4.13")


def test_the_totals_from_sql_give_the_same_summary_as_the_rows():
    rows = [Scores(5, 4, 3), Scores(2, 4, 5), Scores(3, 3, 3), Scores(4, 5, 1)]
    assert rules.summary_from_totals(4, 14, 16, 12) == rules.summarise(rows)


def test_the_average_score_for_kpis_is_not_held_back_and_none_without_ratings():
    assert rules.average_score([]) is None
    assert rules.average_score([Scores(5, 4, 3)]) == Decimal("4.00")
    assert rules.satisfaction_percent([Scores(5, 4, 3)]) == Decimal("80.00")
    assert rules.satisfaction_percent([]) is None
    assert rules.average_of([], "timeliness") is None
    with pytest.raises(ValueError, match="not a rating dimension"):
        rules.average_of([Scores(1, 1, 1)], "price")


@pytest.mark.parametrize(
    ("scores", "comment", "field"),
    [
        (Scores(0, 3, 3), "", "quality"),
        (Scores(3, 6, 3), "", "timeliness"),
        (Scores(3, 3, -1), "", "communication"),
        (Scores(3, 3, 3), "x" * 2_001, "comment"),
    ],
)
def test_scores_are_from_one_to_five_and_comments_at_most_2000_characters(scores, comment, field):
    assert field in rules.score_problems(scores, comment)


def test_valid_scores_and_a_2000_character_comment_pass():
    assert rules.score_problems(Scores(1, 5, 3), "x" * 2_000) == {}


def test_only_delivered_or_invoiced_orders_and_approved_weeks_are_rated_and_only_once():
    for status in ("delivered", "invoiced"):
        assert rules.order_rating_problem(status, already_rated=False) is None
    for status in ("draft", "submitted", "approved", "confirmed", "cancelled", "declined"):
        assert "once it has been delivered" in rules.order_rating_problem(
            status, already_rated=False
        )
    assert "already rated" in rules.order_rating_problem("delivered", already_rated=True)
    assert rules.timesheet_rating_problem("approved", already_rated=False) is None
    assert rules.timesheet_rating_problem("submitted", already_rated=False)
    assert rules.timesheet_rating_problem("queried", already_rated=False)
    assert "already rated" in rules.timesheet_rating_problem("approved", already_rated=True)


def test_a_reply_is_given_once_and_says_something():
    assert rules.reply_problem("Thank you", already_replied=False) is None
    assert "already replied" in rules.reply_problem("Thank you", already_replied=True)
    assert rules.reply_problem("   ", already_replied=False) == "Enter your reply"
    assert "2,000" in rules.reply_problem("x" * 2_001, already_replied=False)
