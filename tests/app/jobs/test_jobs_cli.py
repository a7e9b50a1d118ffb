"""`flask jobs …`: list jobs, re-send lost ones; no consumer where jobs run inline."""

from __future__ import annotations

from app.extensions import db
from app.jobs import enqueue_after_commit
from tests import factories
from tests.app.jobs.tasks_for_tests import fail_until_renamed, rename_school


def test_the_list_shows_each_job_with_its_status_attempts_and_error(runner):
    school = factories.make_school(name="Plain")
    db.session.commit()
    done = enqueue_after_commit(rename_school, school.id, "Plain too")
    db.session.commit()
    school.name = "Plain again"
    db.session.commit()
    failed = enqueue_after_commit(fail_until_renamed, school.id)
    db.session.commit()

    result = runner.invoke(args=["jobs", "list"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == [str(failed.id), "failed", "3x"]
    assert lines[0].endswith("ValueError: Plain again is not renamed yet")
    assert lines[1].split()[:3] == [str(done.id), "succeeded", "1x"]
    assert f"rename_school({school.id}, 'Plain too')" in lines[1]


def test_requeue_says_how_many_jobs_it_sent_again(runner):
    result = runner.invoke(args=["jobs", "requeue"])

    assert (result.exit_code, result.output) == (0, "0 jobs sent again.\n")


def test_there_is_no_consumer_to_run_when_jobs_run_inline(runner):
    result = runner.invoke(args=["jobs", "worker"])

    assert result.exit_code == 1
    assert "JOBS_IMMEDIATE is set: jobs run inline, there is no queue." in result.output
