"""The tender timetable: notice before a deadline, deadline extensions and the standstill.

Pure: the standard library and `app.calendar` (England and Wales working days) only.

- **Notice**: bidders always get at least `NOTICE_WORKING_DAYS` working days. A tender can be
  published only with a deadline on or after the third working day after publication; a change
  to an open tender made later than that moves the deadline to the same time of day on the
  third working day after the change.
- **Standstill**: the `STANDSTILL_WORKING_DAYS` working days after the day of the award
  decision (the day itself is not counted). A contract can be entered into from the day after
  the last standstill day, never on it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from app.calendar import add_working_days
from app.time import london_date, london_instant, to_london

NOTICE_WORKING_DAYS = 3
STANDSTILL_WORKING_DAYS = 8


def earliest_deadline_day(now: datetime) -> date:
    """The first day a deadline may fall on when publishing or changing at `now`."""
    return add_working_days(london_date(now), NOTICE_WORKING_DAYS)


def deadline_after_change(deadline: datetime, changed_at: datetime) -> datetime:
    """The deadline once a change is made at `changed_at`: moved later if notice is too short."""
    if london_date(deadline) >= earliest_deadline_day(changed_at):
        return deadline
    clock = to_london(deadline).time()
    return london_instant(earliest_deadline_day(changed_at), clock)


def standstill_last_day(decided_at: datetime) -> date:
    """The last day of the standstill that an award decision at `decided_at` starts."""
    return add_working_days(london_date(decided_at), STANDSTILL_WORKING_DAYS)


def first_contract_day(last_standstill_day: date) -> date:
    return last_standstill_day + timedelta(days=1)


def standstill_over(last_standstill_day: date, now: datetime) -> bool:
    """True once the standstill has ended (from the day after its last day, London time)."""
    return london_date(now) > last_standstill_day


def standstill_end_instant(last_standstill_day: date) -> datetime:
    """Midnight London time at the end of the last standstill day, in UTC."""
    return london_instant(first_contract_day(last_standstill_day), time(0, 0))
