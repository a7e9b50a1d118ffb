"""The email jobs: sending one outbox row (retried with back-off), and the 07:00 digests."""

from __future__ import annotations

import logging

from app.jobs import london_crontab, periodic_task, task
from app.notifications.delivery import send_message

log = logging.getLogger(__name__)


@task(retries=5, retry_delay=30)
def send_email(outbox_id: int) -> None:
    """Send one outbox row; a failure raises, so the queue tries again 30 s, 1, 2, 4 and
    8 minutes later. A row already sent (a repeated or doubled job) is left alone."""
    if not send_message(outbox_id):
        log.info("outbox %s already sent or being sent; nothing to do", outbox_id)


@periodic_task(london_crontab(minute="0", hour="7"))
def send_daily_digests() -> None:
    """Every day at 07:00 London time: one email per person with their held messages."""
    from app.notifications.digest import send_digests

    made = send_digests()
    if made:
        log.info("%s daily digests queued", made)
