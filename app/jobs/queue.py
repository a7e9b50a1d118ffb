"""The queue: one huey instance, the `task` and `periodic_task` decorators, and the runner that
executes a job inside the Flask app.

How a job runs exactly once although huey delivers at most once (a consumer killed mid-task
loses the message it had taken) and a message may be sent twice:

- `enqueue_after_commit` adds a `JobRun` row (task name and arguments) to the caller's session
  and sends huey a message carrying only the row's id once that session commits; a rollback
  drops both. The row is the truth; the message is a wake-up call.
- A consumer *claims* the row before running it: one UPDATE that succeeds only if the row is
  queued, or running under a lease that has expired. A second message for the same row finds it
  claimed or done and does nothing.
- While the job runs, a heartbeat in the consumer renews the lease. A consumer that dies stops
  renewing; `requeue_stale_jobs` (every minute, and once a lease after each consumer starts)
  sends a new message for every row whose lease has lapsed, or that has waited queued too long
  (its message lost before it was sent). The next claim takes it over.
- Jobs themselves resume (billing and aggregator runs keep their own progress), so the attempt
  that takes over finishes the work without doing any part twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from huey import Huey
from huey.api import TaskWrapper
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy.orm import Session

from app.extensions import db
from app.jobs.models import JobRun, JobStatus
from app.time import utcnow

if TYPE_CHECKING:
    from flask import Flask

    from app.models import User

log = logging.getLogger(__name__)

# One huey instance for the process; `configure` points its storage at SQLite, Redis or memory.
huey = Huey("pooled", results=False, utc=True, storage_class=MemoryStorage)


class _State:
    app: Flask | None = None


_state = _State()


@dataclass
class Job:
    """A task: the function, its retry policy, and the huey task that carries its messages."""

    name: str
    function: Callable[..., Any]
    retries: int
    retry_delay: int
    huey_task: TaskWrapper = field(repr=False)
    # A periodic task's second huey task, which the consumer's scheduler starts.
    on_schedule: TaskWrapper | None = field(default=None, repr=False)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly (in this process, in the current app context)."""
        return self.function(*args, **kwargs)


JOBS: dict[str, Job] = {}


def task(retries: int = 0, retry_delay: int = 0) -> Callable[[Callable[..., Any]], Job]:
    """Make a function a queued task. It runs in a Flask app context on a consumer; after a
    failure it is tried again `retries` times, `retry_delay` seconds apart, doubling each time."""

    def decorator(function: Callable[..., Any]) -> Job:
        name = f"{function.__module__}.{function.__qualname__}"
        if name in JOBS:
            raise ValueError(f"a task named {name} is already defined")

        def run(job_run_id: int) -> None:
            _run_job(name, job_run_id)

        run.__module__ = function.__module__
        wrapper = huey.task(name=name)(run)
        job = Job(name, function, retries, retry_delay, wrapper)
        JOBS[name] = job
        return job

    return decorator


def periodic_task(schedule: Callable[[Any], bool], retries: int = 0) -> Callable[..., Job]:
    """A task the consumer also starts on a schedule (see `london_crontab`). Scheduled runs
    leave a JobRun only when they fail; the function can be enqueued like any task (a retry)."""

    def decorator(function: Callable[..., Any]) -> Job:
        job = task(retries=retries)(function)

        def run_on_schedule() -> None:
            _run_periodic(job)

        run_on_schedule.__module__ = function.__module__
        job.on_schedule = huey.periodic_task(schedule, name=f"{job.name}:periodic")(run_on_schedule)
        return job

    return decorator


# Enqueueing --------------------------------------------------------------------------------

_PENDING = "jobs_pending"


def enqueue_after_commit(
    job: Job, *args: Any, requested_by: User | None = None, **kwargs: Any
) -> JobRun:
    """Record a job in the current session; it is sent to the queue when the session commits,
    and forgotten if it rolls back. Arguments must be JSON values (ids, not objects)."""
    run = JobRun(
        task_name=job.name,
        args={"args": list(args), "kwargs": kwargs},
        args_summary=_summary(args, kwargs),
        max_attempts=job.retries + 1,
        requested_by_id=requested_by.id if requested_by is not None else None,
    )
    db.session.add(run)
    db.session.info.setdefault(_PENDING, []).append(run)
    return run


def send_after_commit(run: JobRun) -> None:
    """Send an already recorded job (queued again, e.g. a retry) when the session commits."""
    db.session.info.setdefault(_PENDING, []).append(run)


def _summary(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    text = ", ".join(parts)
    return text if len(text) <= 200 else text[:199] + "…"


def _after_commit(session: Any) -> None:
    pending = session.info.pop(_PENDING, [])
    for run in pending:
        state = sa.inspect(run)
        if state.persistent or state.detached and state.key is not None:
            send(run.task_name, state.key[1][0])


def _after_soft_rollback(session: Any, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def send(task_name: str, job_run_id: int, delay: float | None = None) -> None:
    """Send the queue a message for a recorded job (it is claimed when it runs, so a second
    message for the same job is harmless)."""
    if has_app_context() and current_app._get_current_object() is not _state.app:  # type: ignore[attr-defined]
        use(current_app._get_current_object())  # type: ignore[attr-defined]
    job = JOBS.get(task_name)
    if job is None:
        log.error("job %s names task %s, which this process does not know", job_run_id, task_name)
        return
    try:
        if delay:
            job.huey_task.schedule(args=(job_run_id,), delay=delay)
        else:
            job.huey_task(job_run_id)
    except Exception:  # the row stays queued; requeue_stale_jobs sends it again
        log.exception("could not send job %s to the queue", job_run_id)


# Running -----------------------------------------------------------------------------------


def _app() -> Flask:
    if has_app_context():  # inline (JOBS_IMMEDIATE): the app whose session committed
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _state.app is None:
        raise RuntimeError("the job queue is not configured: create the app first")
    return _state.app


def _worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim(job_run_id: int, lease: timedelta) -> tuple[str, JobRun] | None:
    """Take a job for this worker, or None if it is done, failed, or held under a live lease."""
    now = utcnow()
    label = _worker_label()
    claimed = db.session.execute(
        sa.update(JobRun)
        .where(
            JobRun.id == job_run_id,
            sa.or_(
                JobRun.status == JobStatus.QUEUED,
                sa.and_(JobRun.status == JobStatus.RUNNING, JobRun.lease_until < now),
            ),
        )
        .values(
            status=JobStatus.RUNNING,
            attempts=JobRun.attempts + 1,
            claimed_by=label,
            lease_until=now + lease,
            started_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    run = db.session.get(JobRun, job_run_id)
    return (label, run) if run is not None else None


def _finish(job_run_id: int, label: str, **values: Any) -> bool:
    changed = db.session.execute(
        sa.update(JobRun)
        .where(JobRun.id == job_run_id, JobRun.claimed_by == label)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return getattr(changed, "rowcount", 0) == 1


class _Heartbeat:
    """Renews a running job's lease from a thread of the consumer until the job ends."""

    def __init__(self, app: Flask, job_run_id: int, label: str, lease: timedelta) -> None:
        self.stop = threading.Event()
        self.args = (app, job_run_id, label, lease)
        self.thread = threading.Thread(target=self._beat, daemon=True, name=f"lease-{job_run_id}")

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _beat(self) -> None:
        app, job_run_id, label, lease = self.args
        every = float(app.config["JOBS_HEARTBEAT_SECONDS"])
        with app.app_context():
            while not self.stop.wait(every):
                try:
                    with db.engine.begin() as connection:
                        connection.execute(
                            sa.update(JobRun)
                            .where(JobRun.id == job_run_id, JobRun.claimed_by == label)
                            .values(lease_until=utcnow() + lease)
                        )
                except Exception:  # the next beat tries again; the lease has slack
                    log.exception("could not renew the lease of job %s", job_run_id)


def _run_job(name: str, job_run_id: int) -> None:
    app = _app()
    job = JOBS[name]
    lease = timedelta(seconds=float(app.config["JOBS_LEASE_SECONDS"]))
    with app.app_context():
        try:
            claim = _claim(job_run_id, lease)
            if claim is None:
                log.info("job %s is done or held by another worker; message ignored", job_run_id)
                return
            label, run = claim
            args = list(run.args.get("args", []))
            kwargs = dict(run.args.get("kwargs", {}))
            attempts, max_attempts = run.attempts, run.max_attempts
            try:
                if huey.immediate:
                    job.function(*args, **kwargs)
                else:
                    with _Heartbeat(app, job_run_id, label, lease):
                        job.function(*args, **kwargs)
            except Exception as exc:
                db.session.rollback()
                log.exception("job %s (%s) failed", job_run_id, name)
                error = f"{type(exc).__name__}: {exc}"[:4000]
            else:
                _finish(
                    job_run_id,
                    label,
                    status=JobStatus.SUCCEEDED,
                    finished_at=utcnow(),
                    lease_until=None,
                )
                return
            if attempts >= max_attempts:
                _finish(
                    job_run_id,
                    label,
                    status=JobStatus.FAILED,
                    last_error=error,
                    finished_at=utcnow(),
                    lease_until=None,
                )
                return
            delay = job.retry_delay * 2 ** (attempts - 1)
            if _finish(
                job_run_id,
                label,
                status=JobStatus.QUEUED,
                last_error=error,
                enqueued_at=utcnow() + timedelta(seconds=delay),
                lease_until=None,
            ):
                send(name, job_run_id, delay=delay or None)
        finally:
            db.session.remove()


def _run_periodic(job: Job) -> None:
    app = _app()
    with app.app_context():
        try:
            job.function()
        except Exception as exc:
            db.session.rollback()
            log.exception("periodic task %s failed", job.name)
            now = utcnow()
            db.session.add(
                JobRun(
                    task_name=job.name,
                    args={"args": [], "kwargs": {}},
                    args_summary="(on its schedule)",
                    status=JobStatus.FAILED,
                    attempts=1,
                    max_attempts=job.retries + 1,
                    last_error=f"{type(exc).__name__}: {exc}"[:4000],
                    enqueued_at=now,
                    started_at=now,
                    finished_at=now,
                )
            )
            db.session.commit()
        finally:
            db.session.remove()


# Configuration -----------------------------------------------------------------------------


def configure(app: Flask) -> None:
    """Give the app its queue storage: memory (jobs run inline) when JOBS_IMMEDIATE, Redis
    when REDIS_URL is set, else a SQLite file in the instance folder."""
    name = app.config["JOBS_QUEUE_NAME"]
    storage: Any
    if app.config["JOBS_IMMEDIATE"]:
        storage = MemoryStorage(name)
    elif app.config["REDIS_URL"]:
        storage = RedisStorage(name, url=app.config["REDIS_URL"])
    else:
        path = app.config["JOBS_SQLITE_PATH"] or os.path.join(app.instance_path, "jobs.sqlite3")
        storage = SqliteStorage(name, filename=path)
    app.extensions["jobs"] = (bool(app.config["JOBS_IMMEDIATE"]), storage)
    use(app)


def use(app: Flask) -> None:
    """Point the one huey instance at this app's storage (a process serves one app; tests
    make several, one after another)."""
    immediate, storage = app.extensions["jobs"]
    _state.app = app
    huey.name = storage.name
    huey._immediate = immediate
    huey.storage = storage


# Every session (the app's and the tests' connection-bound ones) sends its jobs on commit.
sa.event.listen(Session, "after_commit", _after_commit)
sa.event.listen(Session, "after_soft_rollback", _after_soft_rollback)
