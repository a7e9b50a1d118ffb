"""Jobs whose consumer died (a lapsed lease) or whose message was lost are sent again, and a
message for a job that is done or held under a live lease does nothing."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.jobs import JobRun, JobStatus, send
from app.jobs.services import LOST_ATTEMPTS_ALLOWED, requeue_stale
from app.models import School
from app.time import utcnow
from tests import factories
from tests.app.jobs.tasks_for_tests import rename_school


def recorded(school: School, name: str, **values) -> JobRun:
    run = JobRun(
        task_name=rename_school.name,
        args={"args": [school.id, name], "kwargs": {}},
        args_summary="",
        **values,
    )
    db.session.add(run)
    db.session.commit()
    return run


def name_of(school: School) -> str:
    return db.session.scalar(sa.select(School.name).where(School.id == school.id))


def test_a_job_whose_consumer_died_is_sent_again_once_its_lease_lapses(db_session):
    school = factories.make_school(name="Before")
    now = utcnow()
    dead = recorded(
        school,
        "After",
        status=JobStatus.RUNNING,
        attempts=1,
        claimed_by="host:1:dead",
        lease_until=now - timedelta(seconds=1),
    )
    alive = recorded(
        school,
        "Not yet",
        status=JobStatus.RUNNING,
        attempts=1,
        claimed_by="host:2:alive",
        lease_until=now + timedelta(minutes=1),
    )

    assert requeue_stale() == 1  # runs inline here (JOBS_IMMEDIATE)

    db.session.expire_all()
    assert name_of(school) == "After"
    assert (dead.status, dead.attempts) == (JobStatus.SUCCEEDED, 2)
    assert (alive.status, alive.claimed_by) == (JobStatus.RUNNING, "host:2:alive")


def test_a_second_message_for_a_held_or_finished_job_does_nothing(db_session):
    school = factories.make_school(name="Before")
    held = recorded(
        school,
        "Twice",
        status=JobStatus.RUNNING,
        attempts=1,
        claimed_by="host:2:alive",
        lease_until=utcnow() + timedelta(minutes=1),
    )
    done = recorded(school, "Again", status=JobStatus.SUCCEEDED, attempts=1)

    send(rename_school.name, held.id)
    send(rename_school.name, done.id)

    db.session.expire_all()
    assert name_of(school) == "Before"
    assert (held.attempts, done.attempts) == (1, 1)


def test_a_job_queued_too_long_is_sent_again(app, db_session):
    school = factories.make_school(name="Before")
    waited = timedelta(seconds=app.config["JOBS_RESEND_AFTER_SECONDS"] + 1)
    lost = recorded(school, "Found", enqueued_at=utcnow() - waited)
    recent = recorded(school, "Waiting")

    assert requeue_stale() == 1

    db.session.expire_all()
    assert name_of(school) == "Found"
    assert (lost.status, recent.status) == (JobStatus.SUCCEEDED, JobStatus.QUEUED)


def test_a_job_that_keeps_killing_its_consumer_is_given_up(db_session):
    school = factories.make_school(name="Before")
    run = recorded(
        school,
        "Never",
        status=JobStatus.RUNNING,
        attempts=1 + LOST_ATTEMPTS_ALLOWED,
        max_attempts=1,
        claimed_by="host:1:dead",
        lease_until=utcnow() - timedelta(seconds=1),
    )

    assert requeue_stale() == 0

    db.session.expire_all()
    assert run.status is JobStatus.FAILED
    assert (
        run.last_error == f"Its worker stopped {1 + LOST_ATTEMPTS_ALLOWED} times while running it."
    )
    assert name_of(school) == "Before"
