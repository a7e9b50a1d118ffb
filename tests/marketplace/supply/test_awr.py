"""AWR qualifying weeks on the London term calendar (marketplace.supply.awr), pure."""

from __future__ import annotations

from datetime import date, timedelta

from marketplace.supply import awr


def mondays(first: date, count: int) -> list[date]:
    return [first + timedelta(weeks=n) for n in range(count)]


def test_a_week_counts_if_any_day_or_half_day_was_worked_in_it():
    # One half day on a Wednesday and a full week count the same: one week each.
    days = [date(2026, 9, 9), *[date(2026, 9, 14) + timedelta(days=n) for n in range(5)]]
    assert awr.week_numbers(days) == {date(2026, 9, 7): 1, date(2026, 9, 14): 2}


def test_autumn_half_term_pauses_the_count_and_does_not_reset_it():
    before = mondays(date(2026, 9, 7), 7)  # 7 Sep … 19 Oct: weeks 1–7
    after = mondays(date(2026, 11, 2), 6)  # half term 26–30 Oct skipped: weeks 8–13
    numbers = awr.week_numbers(before + after)
    assert date(2026, 10, 26) not in numbers
    assert numbers[date(2026, 11, 2)] == 8
    assert numbers[date(2026, 12, 7)] == 13
    assert awr.at_parity(numbers[date(2026, 12, 7)])
    assert not awr.at_parity(numbers[date(2026, 11, 30)])


def test_christmas_holidays_pause_the_count_across_the_new_year():
    days = mondays(date(2026, 11, 30), 3) + [date(2027, 1, 4)]
    numbers = awr.week_numbers(days)
    assert numbers[date(2027, 1, 4)] == 4  # the two holiday weeks neither count nor break


def test_six_term_time_weeks_without_work_pause_but_a_seventh_resets():
    first = mondays(date(2026, 9, 7), 3)  # weeks 1–3, then a gap
    # Off 28 Sep … 9 Nov: six term weeks (half term not counted); back on 16 Nov: a pause.
    numbers = awr.week_numbers([*first, date(2026, 11, 16)])
    assert numbers[date(2026, 11, 16)] == 4
    # One more term week off (back on 23 Nov: seven term weeks without work) resets the count.
    numbers = awr.week_numbers([*first, date(2026, 11, 23)])
    assert numbers[date(2026, 11, 23)] == 1


def test_qualifying_weeks_so_far_and_the_warning_two_weeks_ahead():
    days = mondays(date(2026, 9, 7), 7) + mondays(date(2026, 11, 2), 3)  # 10 weeks by 16 Nov
    assert awr.qualifying_weeks(days, date(2026, 11, 20)) == 10
    assert awr.warning_due(10) and awr.warning_due(12)
    assert not awr.warning_due(9) and not awr.warning_due(13)
    # Off from 23 Nov: four term weeks, two holiday weeks, then 4 and 11 Jan (six term weeks)
    # still pause; the seventh, w/c 18 Jan, resets the count.
    assert awr.qualifying_weeks(days, date(2027, 1, 15)) == 10
    assert awr.qualifying_weeks(days, date(2027, 1, 18)) == 0


def test_the_calendar_holidays():
    assert awr.is_holiday_week(date(2026, 10, 26))  # autumn half term
    assert awr.is_holiday_week(date(2026, 12, 21))
    assert not awr.is_holiday_week(date(2026, 12, 14))
    assert not awr.is_holiday_week(date(2030, 8, 5))  # outside the calendar: term time
