"""The pipeline's jobs: the morning reminder of contracts ending."""

from __future__ import annotations

import logging

from app.jobs import london_crontab, periodic_task
from procurement.pipeline.emails import send_renewal_reminders

log = logging.getLogger(__name__)


@periodic_task(london_crontab(minute="0", hour="7"))
def remind_contracts_ending() -> None:
    """Every day at 07:00 London time: contracts 120, 90 or 30 days from their end."""
    told = send_renewal_reminders()
    if told:
        log.info("reminded %s people of contracts ending", told)
