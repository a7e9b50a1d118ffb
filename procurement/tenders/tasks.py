"""Tenders' jobs: the morning reminder of bid deadlines."""

from __future__ import annotations

import logging

from app.jobs import london_crontab, periodic_task
from procurement.tenders.emails import send_deadline_reminders

log = logging.getLogger(__name__)


@periodic_task(london_crontab(minute="0", hour="7"))
def remind_bid_deadlines() -> None:
    """Every day at 07:00 London time: providers whose bid does not count yet, 3 days before
    the deadline."""
    told = send_deadline_reminders()
    if told:
        log.info("reminded %s people of bid deadlines", told)
