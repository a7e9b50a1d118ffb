"""The pipeline's pure rules: the 18-month window and its months, which reminder is due,
which decisions a contract allows, the next tender's dates, joint-tender groups, the chart."""

from __future__ import annotations

from datetime import date

import pytest

from procurement.pipeline import presenters, rules
from procurement.pipeline.rules import OutsideContract, RenewalChoice

TODAY = date(2026, 12, 6)


def test_months_are_added_keeping_the_day_or_the_months_last_day():
    assert rules.add_months(date(2026, 12, 6), 18) == date(2028, 6, 6)
    assert rules.add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert rules.add_months(date(2028, 3, 31), -1) == date(2028, 2, 29)
    assert rules.add_months(date(2026, 12, 6), -12) == date(2025, 12, 6)


@pytest.mark.parametrize(
    ("ends_on", "inside"),
    [
        (date(2026, 12, 5), False),  # ended yesterday
        (date(2026, 12, 6), True),  # ends today
        (date(2028, 6, 6), True),  # the window's last day
        (date(2028, 6, 7), False),  # a day beyond 18 months
    ],
)
def test_the_pipeline_covers_contracts_ending_today_to_18_months_on(ends_on, inside):
    assert rules.in_window(ends_on, TODAY) is inside


def test_the_window_has_every_month_from_this_one_to_18_months_on():
    months = rules.window_months(TODAY)
    assert months[0] == (2026, 12)
    assert months[-1] == (2028, 6)
    assert len(months) == 19


def test_contracts_are_grouped_by_the_month_they_end_soonest_first():
    items = [date(2027, 3, 31), date(2026, 12, 31), date(2027, 3, 1), date(2028, 1, 15)]
    groups = rules.group_by_month(items, lambda d: d)
    assert groups == [
        ("December 2026", [date(2026, 12, 31)]),
        ("March 2027", [date(2027, 3, 31), date(2027, 3, 1)]),
        ("January 2028", [date(2028, 1, 15)]),
    ]


def test_reminders_are_due_at_120_90_and_30_days_each_once():
    ends = date(2027, 6, 30)
    sent: set[int] = set()
    told = {}
    day = date(2027, 1, 1)
    while day <= ends:
        due = rules.reminder_due(ends, day, sent)
        if due is not None:
            told[due] = (ends - day).days
            sent.add(due)
        day = date.fromordinal(day.toordinal() + 1)
    assert told == {120: 120, 90: 90, 30: 30}


def test_a_missed_morning_catches_up_with_the_nearest_reminder_only():
    ends = date(2027, 6, 30)
    # First seen 85 days before the end: the 90-day reminder, never the 120-day one after it.
    first = date.fromordinal(ends.toordinal() - 85)
    assert rules.reminder_due(ends, first, set()) == 90
    assert rules.reminder_due(ends, date.fromordinal(first.toordinal() + 1), {90}) is None
    # 20 days left and nothing sent: the 30-day one.
    assert rules.reminder_due(ends, date.fromordinal(ends.toordinal() - 20), set()) == 30
    # Further than 120 days, or already ended: nothing.
    assert rules.reminder_due(ends, date.fromordinal(ends.toordinal() - 121), set()) is None
    assert rules.reminder_due(ends, date.fromordinal(ends.toordinal() + 1), set()) is None


def test_only_a_tendered_contract_may_be_extended():
    assert rules.allowed_choices(True) == [
        RenewalChoice.EXTEND,
        RenewalChoice.RETENDER,
        RenewalChoice.ROUND,
        RenewalChoice.LAPSE,
    ]
    assert RenewalChoice.EXTEND not in rules.allowed_choices(False)


def test_the_next_contract_starts_the_day_after_the_old_one_ends_and_runs_as_long():
    period = rules.next_period(date(2025, 9, 1), date(2027, 8, 31), TODAY)
    assert period.deadline_on == date(2027, 1, 17)  # six weeks from today
    assert period.starts_on == date(2027, 9, 1)
    assert period.ends_on == date(2029, 8, 31)


def test_a_contract_ending_soon_still_gets_two_weeks_for_bids():
    period = rules.next_period(date(2026, 9, 1), date(2026, 12, 20), TODAY)
    assert period.deadline_on == date(2026, 12, 20)
    assert period.starts_on == date(2026, 12, 21)
    assert (period.ends_on - period.starts_on).days + 1 == 365  # a year at least


def test_a_round_follows_with_the_three_terms_after_the_contract_ends():
    terms = rules.next_terms(date(2026, 12, 31))
    assert [t.key for t in terms] == ["2026-spring", "2026-summer", "2027-autumn"]
    terms = rules.next_terms(date(2027, 1, 10))
    assert [t.key for t in terms] == ["2026-summer", "2027-autumn", "2027-spring"]


def test_call_offs_count_when_their_term_started_in_the_last_12_months():
    assert rules.term_in_last_year(date(2026, 1, 1), TODAY)
    assert rules.term_in_last_year(date(2026, 12, 6), TODAY)
    assert not rules.term_in_last_year(date(2025, 12, 6), TODAY)
    assert not rules.term_in_last_year(date(2027, 1, 1), TODAY)  # not started yet


def _outside(id_, school, key, ends, pence=100_000):
    return OutsideContract(id_, school, key, ends, pence)


def test_schools_contracts_for_one_service_ending_within_3_months_are_a_joint_candidate():
    hr = rules.service_key(7, "")
    found = rules.joint_candidates(
        [
            _outside(1, 10, hr, date(2027, 3, 31), 400_000),
            _outside(2, 11, hr, date(2027, 5, 15), 1_200_000),
            _outside(3, 12, hr, date(2027, 6, 30), 900_000),  # exactly 3 months after the first
            _outside(4, 13, hr, date(2027, 7, 1)),  # a day too late: alone, so no group
        ]
    )
    assert len(found) == 1
    (group,) = found
    assert [c.id for c in group.contracts] == [1, 2, 3]
    assert group.school_ids == (10, 11, 12)
    assert group.annual_value_pence == 2_500_000
    assert (group.first_ends_on, group.last_ends_on) == (date(2027, 3, 31), date(2027, 6, 30))


def test_one_schools_contracts_or_different_services_are_no_joint_candidate():
    assert (
        rules.joint_candidates(
            [
                _outside(1, 10, "service:7", date(2027, 3, 31)),
                _outside(2, 10, "service:7", date(2027, 4, 30)),  # the same school again
                _outside(3, 11, "service:8", date(2027, 4, 1)),  # another service
            ]
        )
        == []
    )


def test_a_group_that_falls_short_moves_on_to_the_next_contract():
    key = "service:7"
    found = rules.joint_candidates(
        [
            _outside(1, 10, key, date(2027, 1, 31)),
            _outside(2, 11, key, date(2027, 6, 1)),
            _outside(3, 12, key, date(2027, 8, 15)),
        ]
    )
    assert [[c.id for c in g.contracts] for g in found] == [[2, 3]]


def test_free_text_categories_match_whatever_their_case_or_spacing():
    assert rules.service_key(None, "Grounds  Maintenance ") == rules.service_key(
        None, "grounds maintenance"
    )
    assert rules.service_key(3, "anything") == "service:3"


def test_the_chart_scales_each_month_to_the_largest_and_labels_the_years():
    chart = presenters.month_chart([(2026, 12, 0), (2027, 1, 50_000), (2027, 2, 200_000)])
    zero, january, february = chart.bars
    assert zero.height == 0 and zero.year == "2026"
    assert january.year == "2027" and february.year == ""
    assert february.height == presenters.HEIGHT - presenters.TOP - presenters.BOTTOM
    assert january.height == pytest.approx(february.height / 4, abs=0.1)
    assert february.y + february.height == chart.baseline_y
    assert chart.total_pence == 250_000
    assert chart.highest is february
    assert february.value_text == "£2,000"
