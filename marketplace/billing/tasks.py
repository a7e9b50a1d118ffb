"""Billing's jobs: a billing run started from the admin page, and hourly reconciliation."""

from __future__ import annotations

import logging

from app.jobs import london_crontab, periodic_task, task
from marketplace.billing import runs, webhooks
from marketplace.billing.state import gateway_from_config

log = logging.getLogger(__name__)


@task()
def execute_billing_run(run_id: int) -> None:
    """Execute a started billing run. Run again after its consumer died, it resumes where it
    stopped (invoices are written before Stripe is called, and keyed so none is made twice)."""
    run = runs.take_over(run_id)
    if run is None:
        log.info("billing run %s has nothing left to do", run_id)
        return
    runs.execute(run, gateway_from_config())


@periodic_task(london_crontab(minute="17"))
def reconcile_with_stripe() -> None:
    """Every hour: apply the payments and invoice changes Stripe's webhooks did not deliver."""
    gateway = gateway_from_config()
    if gateway is None:
        return  # Stripe is not configured: nothing to reconcile
    report = webhooks.reconcile(gateway)
    log.info("Stripe reconciliation: %s", report.summary())


@periodic_task(london_crontab(minute="0", hour="7"))
def send_billing_notices() -> None:
    """Every day at 07:00 London time: overdue invoices issued here, and providers' payables
    for terms that have just ended."""
    from marketplace.billing.emails import send_overdue_notices, send_payables_ready

    told = send_overdue_notices() + send_payables_ready()
    if told:
        log.info("sent %s billing notices", told)
