"""Crontab schedules read on the Europe/London wall clock (the queue's clock is UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from huey import crontab

LONDON = ZoneInfo("Europe/London")


def london_crontab(
    minute: str = "*", hour: str = "*", day: str = "*", month: str = "*", day_of_week: str = "*"
) -> Callable[[datetime], bool]:
    """A huey crontab matched against London time: `hour="7"` runs at 07:00 in London in
    winter (07:00 UTC) and in summer (06:00 UTC)."""
    matches = crontab(
        minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, strict=True
    )

    def validate(timestamp: datetime) -> bool:
        # huey hands the scheduler's time as naive UTC.
        instant = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
        return bool(matches(instant.astimezone(LONDON).replace(tzinfo=None)))

    return validate
