"""The admin Jobs page: failed jobs with their error and a Retry button, and the latest jobs."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.audit import history
from app.extensions import db
from app.jobs import JobRun, JobStatus, enqueue_after_commit
from app.models import School
from tests import factories
from tests.app.jobs.tasks_for_tests import fail_until_renamed, rename_school


@pytest.fixture
def failed_job(world):
    school = factories.make_school(name="Plain")
    db.session.commit()
    run = enqueue_after_commit(fail_until_renamed, school.id)
    db.session.commit()
    db.session.refresh(run)
    assert run.status is JobStatus.FAILED
    return run, school


def test_the_page_lists_failed_jobs_with_their_error_and_the_latest_jobs(
    client, auth, world, failed_job
):
    run, school = failed_job
    enqueue_after_commit(rename_school, school.id, "Fine", requested_by=world.admin)
    db.session.commit()
    auth.as_user(world.admin)

    page = client.get("/admin/jobs").get_data(as_text=True)

    failed = page[page.index('id="failed-jobs"') : page.index('id="recent-jobs"')]
    assert "ValueError: Plain is not renamed yet" in failed
    assert f'Retry<span class="govuk-visually-hidden"> job {run.id}</span>' in failed
    assert "rename_school" not in failed
    recent = page[page.index('id="recent-jobs"') :]
    assert "Succeeded" in recent and "Failed" in recent
    assert world.admin.email in recent  # who asked for the rename


def test_retrying_a_failed_job_runs_it_again_and_is_audited(
    client, auth, world, failed_job, request
):
    run, school = failed_job
    school.name = "Renamed at last"
    db.session.commit()
    auth.as_user(world.admin)
    request.getfixturevalue("csrf_enabled")  # from here on, as in production
    page = client.get("/admin/jobs").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    assert client.post(f"/admin/jobs/{run.id}/retry").status_code == 400  # no token: refused
    assert db.session.get(JobRun, run.id).status is JobStatus.FAILED
    response = client.post(
        f"/admin/jobs/{run.id}/retry", data={"csrf_token": token}, follow_redirects=True
    )

    assert f"Job {run.id} queued again." in response.get_data(as_text=True)
    db.session.expire_all()
    again = db.session.get(JobRun, run.id)
    assert (again.status, again.attempts) == (JobStatus.SUCCEEDED, 4)
    assert [e.action for e in history("job_run", run.id)] == ["retried"]
    assert history("job_run", run.id)[0].actor_id == world.admin.id


def test_only_a_failed_job_can_be_retried(client, auth, world):
    school = factories.make_school()
    db.session.commit()
    run = enqueue_after_commit(rename_school, school.id, "Done")
    db.session.commit()
    auth.as_user(world.admin)

    response = client.post(f"/admin/jobs/{run.id}/retry", follow_redirects=True)

    assert "only a failed job can be retried" in response.get_data(as_text=True)
    assert client.post("/admin/jobs/999999/retry").status_code == 404
    assert db.session.scalar(sa.select(School.name).where(School.id == school.id)) == "Done"


@pytest.mark.parametrize("role", ["committee", "sbm", "head", "provider"])
def test_only_the_admin_can_retry_a_job(client, auth, world, failed_job, role):
    run, _ = failed_job
    users = {"committee": "committee", "sbm": "sbm_a", "head": "head_a"}
    auth.as_user(getattr(world, users.get(role, "provider_user_a")))

    assert client.post(f"/admin/jobs/{run.id}/retry").status_code == 403
    assert db.session.get(JobRun, run.id).status is JobStatus.FAILED
