"""Buying rounds' jobs: solving a queued aggregator run, and closing pledging at the deadline."""

from __future__ import annotations

import logging
import os

from app.errors import DomainError
from app.jobs import london_crontab, periodic_task, task
from procurement.rounds import lifecycle
from procurement.rounds.errors import RunStateConflict
from procurement.rounds.models import RunStatus
from procurement.rounds.runs import execute_run, requeue_interrupted

log = logging.getLogger(__name__)


@task()
def solve_run(run_id: int) -> None:
    """Solve a queued aggregator run. Only the holder of this job solves the run, so a run still
    marked running when the job starts again lost its consumer: it is solved again from its
    recorded inputs (a solve writes nothing until it has its answer)."""
    requeue_interrupted(run_id)
    try:
        run = execute_run(run_id, pid=os.getpid())
    except RunStateConflict as exc:  # already solved (or failed): nothing to do
        log.info("round run %s: %s", run_id, exc.message)
        return
    if run.status is RunStatus.FAILED:
        log.warning("round run %s failed: %s", run_id, run.error)


@periodic_task(london_crontab(minute="*"))
def close_rounds_past_their_deadline() -> None:
    """Every minute: close pledging on open rounds whose pledge deadline has passed."""
    try:
        closed = lifecycle.close_rounds_past_deadline()
    except DomainError as exc:
        log.warning("closing rounds: %s", exc.message)
        return
    if closed:
        log.info("closed pledging on %s rounds", closed)


@periodic_task(london_crontab(minute="0", hour="7"))
def remind_rounds_closing() -> None:
    """Every day at 07:00 London time: remind schools that have not pledged in rounds closing
    in 3 days or 1 day."""
    from procurement.rounds.emails import send_closing_reminders

    told = send_closing_reminders()
    if told:
        log.info("reminded %s people of rounds closing", told)
