"""Background jobs on a huey queue (SQLite in the instance folder, or Redis).

    from app.jobs import task, periodic_task, enqueue_after_commit, london_crontab

    @task(retries=5, retry_delay=30)        # runs inside a Flask app context on a consumer
    def send_something(outbox_id: int) -> None: ...

    enqueue_after_commit(send_something, 42)  # sent when the session commits, dropped on rollback

    @periodic_task(london_crontab(minute="0", hour="7"))  # Europe/London wall-clock time
    def daily() -> None: ...

With JOBS_IMMEDIATE the job runs inline when the session commits (tests without a consumer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.jobs.models import JobRun, JobStatus
from app.jobs.queue import JOBS, Job, enqueue_after_commit, huey, periodic_task, send, task
from app.jobs.schedule import london_crontab

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "JOBS",
    "Job",
    "JobRun",
    "JobStatus",
    "enqueue_after_commit",
    "huey",
    "init_app",
    "london_crontab",
    "periodic_task",
    "send",
    "task",
]


def init_app(app: Flask) -> None:
    """Configure the queue for this app (its storage, and the app tasks run in)."""
    from app.jobs import queue

    queue.configure(app)
