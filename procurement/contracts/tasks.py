"""Contracts' jobs: the morning notice of contracts ending."""

from __future__ import annotations

import logging

from app.jobs import london_crontab, periodic_task
from procurement.contracts.emails import send_ending_notices

log = logging.getLogger(__name__)


@periodic_task(london_crontab(minute="0", hour="7"))
def notify_contracts_ending() -> None:
    """Every day at 07:00 London time: contracts ending in 120, 90 or 30 days."""
    told = send_ending_notices()
    if told:
        log.info("told %s people of contracts ending", told)
