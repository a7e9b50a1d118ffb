"""The Jobs page's use cases, and the periodic task that re-sends jobs whose message was lost."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app import audit
from app.extensions import db, rows_changed
from app.jobs.errors import JobCannotRetry, JobNotFound
from app.jobs.models import JobRun, JobStatus
from app.jobs.queue import JOBS, huey, periodic_task, send, send_after_commit
from app.jobs.schedule import london_crontab
from app.models import User
from app.time import utcnow
from app.use_case import use_case

# A job whose consumer died this many times more than its retries allow is given up on: it is
# probably what kills the consumer.
LOST_ATTEMPTS_ALLOWED = 3


def recent_jobs(limit: int = 50) -> list[JobRun]:
    """The latest jobs, newest first."""
    return list(db.session.scalars(sa.select(JobRun).order_by(JobRun.id.desc()).limit(limit)))


def failed_jobs(limit: int = 50) -> list[JobRun]:
    """Jobs that failed every attempt, newest first."""
    return list(
        db.session.scalars(
            sa.select(JobRun)
            .where(JobRun.status == JobStatus.FAILED)
            .order_by(JobRun.id.desc())
            .limit(limit)
        )
    )


@use_case
def retry_job(job_id: int, actor: User) -> JobRun:
    """Queue a failed job again, with as many attempts as its task allows."""
    run = db.session.get(JobRun, job_id, with_for_update=True)
    if run is None:
        raise JobNotFound("There is no such job.")
    if run.status is not JobStatus.FAILED:
        raise JobCannotRetry(
            f"Job {run.id} is {run.status.label.lower()}; only a failed job can be retried."
        )
    job = JOBS.get(run.task_name)
    if job is None:
        raise JobCannotRetry(f"Job {run.id} names a task this version of Pooled does not have.")
    before = {"status": run.status.value, "attempts": run.attempts}
    run.status = JobStatus.QUEUED
    run.max_attempts = run.attempts + job.retries + 1
    run.enqueued_at = utcnow()
    run.finished_at = None
    run.claimed_by = ""
    audit.record(
        actor,
        "job_run",
        run.id,
        "retried",
        before=before,
        after={"status": run.status.value, "task": run.task_name},
    )
    send_after_commit(run)
    db.session.commit()
    return run


def requeue_stale() -> int:
    """Send again every job whose consumer stopped (its lease lapsed) and every job queued for
    longer than JOBS_RESEND_AFTER_SECONDS (its message was lost); returns how many."""
    now = utcnow()
    resend_before = now - timedelta(seconds=current_app.config["JOBS_RESEND_AFTER_SECONDS"])
    lapsed = list(
        db.session.scalars(
            sa.select(JobRun).where(JobRun.status == JobStatus.RUNNING, JobRun.lease_until < now)
        )
    )
    for run in lapsed:
        given_up = run.attempts >= run.max_attempts + LOST_ATTEMPTS_ALLOWED
        values = (
            {
                "status": JobStatus.FAILED,
                "finished_at": now,
                "last_error": f"Its worker stopped {run.attempts} times while running it.",
            }
            if given_up
            else {
                "status": JobStatus.QUEUED,
                "enqueued_at": resend_before,  # sent below, with the lost queued jobs
                "last_error": "Its worker stopped while running it; sent again.",
            }
        )
        rows_changed(
            sa.update(JobRun)
            .where(
                JobRun.id == run.id,
                JobRun.status == JobStatus.RUNNING,
                JobRun.claimed_by == run.claimed_by,
            )
            .values(lease_until=None, claimed_by="", **values)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    stale = list(
        db.session.execute(
            sa.select(JobRun.id, JobRun.task_name).where(
                JobRun.status == JobStatus.QUEUED, JobRun.enqueued_at <= resend_before
            )
        )
    )
    sent = 0
    for job_id, task_name in stale:
        # Only the process that moves enqueued_at on sends it (two schedulers send it once).
        if rows_changed(
            sa.update(JobRun)
            .where(
                JobRun.id == job_id,
                JobRun.status == JobStatus.QUEUED,
                JobRun.enqueued_at <= resend_before,
            )
            .values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        ):
            db.session.commit()
            send(task_name, job_id)
            sent += 1
    db.session.commit()
    return sent


@periodic_task(london_crontab(minute="*"))
def requeue_stale_jobs() -> None:
    """Every minute: re-send jobs whose consumer died or whose message was lost."""
    requeue_stale()


@huey.on_startup("requeue-after-a-lease")
def _check_once_a_lease_after_starting() -> None:
    """A consumer that starts (after a crash, say) looks for lapsed leases as soon as they can
    have lapsed, not only at the next minute."""
    from app.jobs.queue import _app

    assert requeue_stale_jobs.on_schedule is not None
    lease = float(_app().config["JOBS_LEASE_SECONDS"])
    requeue_stale_jobs.on_schedule.schedule(delay=lease + 1)
