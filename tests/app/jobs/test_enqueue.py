"""Jobs are recorded with the work that asks for them and sent only when it commits."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.jobs import JobRun, JobStatus, enqueue_after_commit
from app.models import School
from tests import factories
from tests.app.jobs.tasks_for_tests import fail_until_renamed, rename_school


def test_a_job_runs_when_the_session_commits_and_is_recorded_as_succeeded(db_session):
    school = factories.make_school()
    db.session.commit()
    run = enqueue_after_commit(rename_school, school.id, "Renamed by a job")
    assert db.session.get(School, school.id).name != "Renamed by a job"
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(School, school.id).name == "Renamed by a job"
    run = db.session.get(JobRun, run.id)
    assert (run.status, run.attempts, run.args_summary) == (
        JobStatus.SUCCEEDED,
        1,
        f"{school.id}, 'Renamed by a job'",
    )
    assert run.finished_at is not None


def test_a_job_asked_for_in_a_rolled_back_transaction_is_never_recorded_or_run(db_session):
    school = factories.make_school(name="Kept")
    db.session.commit()
    enqueue_after_commit(rename_school, school.id, "Renamed by a job")
    db.session.rollback()
    db.session.commit()  # a later commit does not send the forgotten job
    assert db.session.get(School, school.id).name == "Kept"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0


def test_a_job_that_fails_every_attempt_is_recorded_failed_with_its_error(db_session):
    school = factories.make_school(name="Plain")
    db.session.commit()
    run = enqueue_after_commit(fail_until_renamed, school.id)
    db.session.commit()
    run = db.session.get(JobRun, run.id)
    db.session.refresh(run)
    assert run.status == JobStatus.FAILED
    assert run.attempts == 3  # the first try and two retries
    assert run.last_error == "ValueError: Plain is not renamed yet"
