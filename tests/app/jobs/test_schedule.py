"""Periodic tasks run on the Europe/London wall clock, across the changes to and from BST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.jobs import huey, london_crontab
from marketplace.billing.tasks import reconcile_with_stripe
from procurement.rounds.tasks import close_rounds_past_their_deadline

SEVEN_IN_LONDON = london_crontab(minute="0", hour="7")


def naive_utc(*parts: int) -> datetime:
    """An instant as huey's scheduler hands it over: UTC, without tzinfo."""
    return datetime(*parts, tzinfo=UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("utc", "runs"),
    [
        # Saturday 28 March 2026, GMT: London is UTC.
        (naive_utc(2026, 3, 28, 7, 0), True),
        (naive_utc(2026, 3, 28, 6, 0), False),
        # Sunday 29 March: the clocks go forward at 01:00 UTC, so 07:00 in London is 06:00 UTC.
        (naive_utc(2026, 3, 29, 6, 0), True),
        (naive_utc(2026, 3, 29, 7, 0), False),
        # Summer.
        (naive_utc(2026, 7, 1, 6, 0), True),
        (naive_utc(2026, 7, 1, 7, 0), False),
        # Sunday 25 October: the clocks go back at 01:00 UTC; 07:00 in London is 07:00 UTC again.
        (naive_utc(2026, 10, 24, 6, 0), True),
        (naive_utc(2026, 10, 25, 7, 0), True),
        (naive_utc(2026, 10, 25, 6, 0), False),
        (naive_utc(2026, 10, 25, 7, 1), False),
    ],
)
def test_a_daily_task_at_seven_runs_at_seven_in_london_summer_and_winter(utc, runs):
    assert SEVEN_IN_LONDON(utc) is runs


def test_each_london_day_has_exactly_one_seven_oclock_around_both_changes():
    for day in (28, 29, 30):
        hits = [
            (h, m)
            for h in range(24)
            for m in range(60)
            if SEVEN_IN_LONDON(naive_utc(2026, 3, day, h, m))
        ]
        assert len(hits) == 1
    for day in (24, 25, 26):
        hits = [
            (h, m)
            for h in range(24)
            for m in range(60)
            if SEVEN_IN_LONDON(naive_utc(2026, 10, day, h, m))
        ]
        assert len(hits) == 1


def test_an_aware_instant_is_read_as_the_instant_it_is():
    assert SEVEN_IN_LONDON(datetime(2026, 7, 1, 6, 0, tzinfo=UTC))


def test_a_bad_crontab_is_refused_when_it_is_defined():
    with pytest.raises(ValueError):
        london_crontab(hour="25")


def periodic_names(utc: datetime) -> set[str]:
    return {type(task).__name__ for task in huey.read_periodic(utc)}


def test_the_scheduler_starts_reconciliation_hourly_and_round_closing_every_minute():
    reconcile = f"{reconcile_with_stripe.name}:periodic"
    closing = f"{close_rounds_past_their_deadline.name}:periodic"
    at_17 = periodic_names(naive_utc(2026, 3, 29, 6, 17))
    at_18 = periodic_names(naive_utc(2026, 3, 29, 6, 18))
    assert {reconcile, closing} <= at_17
    assert closing in at_18 and reconcile not in at_18
    assert sum(reconcile in periodic_names(naive_utc(2026, 3, 29, h, 17)) for h in range(24)) == 24
