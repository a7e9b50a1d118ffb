"""Providers' jobs: the morning reminder of compliance documents about to expire."""

from __future__ import annotations

import logging

from app.jobs import london_crontab, periodic_task
from marketplace.providers.compliance import send_expiry_reminders

log = logging.getLogger(__name__)


@periodic_task(london_crontab(minute="5", hour="7"))
def remind_compliance_expiring() -> None:
    """Every day at 07:05 London time: documents expiring within 30 days, reminded once."""
    reminded = send_expiry_reminders()
    if reminded:
        log.info("reminded providers of %s documents expiring", reminded)
