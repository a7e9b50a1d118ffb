"""Agency Workers Regulations 2010: counting an agency worker's qualifying weeks with one school
in one role, on a London school-term calendar.

The rule Pooled applies (reg. 7 of the AWR, as the national supply framework reads it):

- weeks are calendar weeks, Monday to Sunday;
- a week **counts** when the worker worked any day or half day in it for the school in the role
  (all of the worker's bookings with that school in that role count together);
- a week without work that is a **school holiday** (no term day in it) **pauses** the count:
  it neither counts nor breaks it;
- a term-time week without work is a break; breaks of up to six weeks in a row pause the count;
  the seventh such week in a row **resets** it to zero;
- from the 13th qualifying week on, the worker is paid at parity: the school's own pay point
  entered on the booking. Pooled warns the school when 10 weeks have qualified (two ahead).

The term calendar is `LONDON_TERMS` below: the term and half-term dates London boroughs
(Ealing among them) publish for community schools, 2025/26 to 2027/28; a school's own INSET
days are not modelled, and dates outside these years are treated as term time (nothing pauses).

Pure: the standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

PARITY_FROM_WEEK = 13
WARN_AT_WEEKS = PARITY_FROM_WEEK - 3  # two weeks before the week parity starts
MAX_BREAK_WEEKS = 6

# (first day, last day) of each half term: term time is inside these, holidays between them.
LONDON_TERMS: tuple[tuple[date, date], ...] = (
    (date(2025, 9, 3), date(2025, 10, 24)),
    (date(2025, 11, 3), date(2025, 12, 19)),
    (date(2026, 1, 5), date(2026, 2, 13)),
    (date(2026, 2, 23), date(2026, 3, 27)),
    (date(2026, 4, 13), date(2026, 5, 22)),
    (date(2026, 6, 1), date(2026, 7, 22)),
    (date(2026, 9, 2), date(2026, 10, 23)),
    (date(2026, 11, 2), date(2026, 12, 18)),
    (date(2027, 1, 4), date(2027, 2, 12)),
    (date(2027, 2, 22), date(2027, 3, 25)),
    (date(2027, 4, 12), date(2027, 5, 28)),
    (date(2027, 6, 7), date(2027, 7, 21)),
    (date(2027, 9, 2), date(2027, 10, 22)),
    (date(2027, 11, 1), date(2027, 12, 17)),
    (date(2028, 1, 4), date(2028, 2, 11)),
    (date(2028, 2, 21), date(2028, 3, 31)),
    (date(2028, 4, 18), date(2028, 5, 26)),
    (date(2028, 6, 5), date(2028, 7, 21)),
)
CALENDAR_STARTS = LONDON_TERMS[0][0]
CALENDAR_ENDS = LONDON_TERMS[-1][1]


def week_of(day: date) -> date:
    """The Monday of the week a day falls in."""
    return day - timedelta(days=day.weekday())


def is_term_day(day: date) -> bool:
    """A weekday inside a London half term (any day outside the calendar's years counts)."""
    if day < CALENDAR_STARTS or day > CALENDAR_ENDS:
        return day.weekday() < 5
    return day.weekday() < 5 and any(first <= day <= last for first, last in LONDON_TERMS)


def is_holiday_week(monday: date) -> bool:
    """A week with no term day in it: a school holiday, which pauses the count."""
    return not any(is_term_day(monday + timedelta(days=n)) for n in range(5))


def week_numbers(worked: Iterable[date]) -> dict[date, int]:
    """For each week (its Monday) with work in it: which qualifying week it is (1, 2, …),
    after pauses and resets. A day is at parity when its week's number is 13 or more."""
    weeks = sorted({week_of(day) for day in worked})
    numbers: dict[date, int] = {}
    if not weeks:
        return numbers
    count = 0
    gap = 0
    current = weeks[0]
    worked_weeks = set(weeks)
    while current <= weeks[-1]:
        if current in worked_weeks:
            count += 1
            gap = 0
            numbers[current] = count
        elif not is_holiday_week(current):
            gap += 1
            if gap > MAX_BREAK_WEEKS:
                count = 0
        current += timedelta(days=7)
    return numbers


def qualifying_weeks(worked: Iterable[date], as_of: date) -> int:
    """Qualifying weeks completed by the end of `as_of`'s week (0 after a reset)."""
    days = [day for day in worked if day <= as_of]
    numbers = week_numbers(days)
    if not numbers:
        return 0
    last_week = max(numbers)
    count = numbers[last_week]
    # Term-time weeks since the last worked week may have broken the count.
    gap = 0
    current = last_week + timedelta(days=7)
    while current <= week_of(as_of):
        if not is_holiday_week(current):
            gap += 1
            if gap > MAX_BREAK_WEEKS:
                return 0
        current += timedelta(days=7)
    return count


def at_parity(week_number: int) -> bool:
    """Whether a qualifying week is paid at parity (week 13 onwards)."""
    return week_number >= PARITY_FROM_WEEK


def warning_due(weeks: int) -> bool:
    """Parity is two weeks away or nearer (10, 11 or 12 weeks qualified): warn the school."""
    return WARN_AT_WEEKS <= weeks < PARITY_FROM_WEEK
