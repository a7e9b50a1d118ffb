"""Supply cover's jobs: telling agencies about ranked requests as their windows open."""

from __future__ import annotations

import logging

from app.jobs import london_crontab, periodic_task
from marketplace.supply import emails

log = logging.getLogger(__name__)


@periodic_task(london_crontab(minute="*"))
def tell_agencies_of_released_requests() -> None:
    """Every minute: email each agency about open cover requests released to it since (under
    ranked release the next agency's window opens when the one before it has had its time)."""
    told = emails.tell_released_requests()
    if told:
        log.info("told agencies of %s released cover requests", told)
