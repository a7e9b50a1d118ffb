"""London time: the one place instants are made, read as London dates and written for people.

Instants are stored in UTC (`utcnow()`); terms, deadlines, notice periods and standstill are
counted in Europe/London dates and wall-clock times. Pure: the standard library only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


def to_london(value: datetime) -> datetime:
    """An instant in Europe/London time."""
    return value.astimezone(LONDON)


def london_date(instant: datetime) -> date:
    """The date in London at an instant."""
    return instant.astimezone(LONDON).date()


def london_today() -> date:
    """Today's date in Europe/London (terms, notice and validity are UK dates)."""
    return london_date(utcnow())


def london_instant(day: date, clock: time) -> datetime:
    """The UTC instant of a London wall-clock time on a day."""
    return datetime.combine(day, clock.replace(tzinfo=None), tzinfo=LONDON).astimezone(UTC)


def london_date_and_time(instant: datetime) -> tuple[date, time]:
    """An instant as the London date and wall-clock time (to the minute) a form shows."""
    local = to_london(instant)
    return local.date(), local.time().replace(second=0, microsecond=0)


def format_instant(instant: datetime | None) -> str:
    """An instant as people in England read it: "22 November 2026 at 17:00"."""
    if instant is None:
        return "—"
    return to_london(instant).strftime("%-d %B %Y at %H:%M")


def format_date(value: date | datetime | None) -> str:
    """A date (or an instant's London date) as "22 November 2026"."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = london_date(value)
    return value.strftime("%-d %B %Y")
