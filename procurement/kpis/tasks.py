"""KPI jobs: each morning, actions for KPIs below target in the latest quarter whose return
deadline has passed (raised once per KPI and quarter, so running daily is safe)."""

from __future__ import annotations

import logging

from app.jobs import london_crontab, periodic_task
from procurement.kpis.actions import raise_actions_past_deadline

log = logging.getLogger(__name__)


@periodic_task(london_crontab(minute="15", hour="7"))
def raise_kpi_actions() -> None:
    """Every day at 07:15 London time: raise the committee's actions on KPIs below target."""
    raised = raise_actions_past_deadline()
    if raised:
        log.info("raised %s KPI actions for the committee", raised)
