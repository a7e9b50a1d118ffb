"""A run started from the round page is a job: the request returns at once and a queue
consumer (`flask jobs worker`, in a process of its own) solves it and records the answer."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.jobs import JobRun, JobStatus
from procurement.rounds.models import RoundRun, RoundStatus, RunStatus
from tests import factories
from tests.procurement.rounds.factories import close, make_round_world, pledge
from tests.support.consumer import QueueForTests

pytestmark = pytest.mark.slow


@pytest.fixture
def queue(backend, tmp_path):
    made = QueueForTests.sqlite(tmp_path) if backend == "sqlite" else QueueForTests.redis()
    yield made
    made.flush()


def test_the_page_returns_at_once_and_the_consumer_records_the_answer(
    module_database, queue, tmp_path
):
    real_app = queue.app(module_database, tmp_path)
    with real_app.app_context():
        world = factories.make_world()
        rw = make_round_world(world)
        pledge(rw, world.sbm_a, 10)
        pledge(rw, world.sbm_b, 45)
        close(rw)
        round_id, email = rw.buying_round.id, world.committee.email
    client = real_app.test_client()
    assert (
        client.post("/sign-in", data={"email": email, "password": factories.PASSWORD}).status_code
        == 302
    )
    started = time.monotonic()
    response = client.post(
        f"/rounds/{round_id}/runs", data={"solver": "highs", "time_limit_seconds": "30"}
    )
    assert response.status_code == 302
    assert time.monotonic() - started < 3  # the web worker did not solve it
    queued = client.get(response.location).text
    assert '<meta http-equiv="refresh" content="2">' in queued  # waiting for a consumer
    with queue.consumer(module_database, tmp_path) as consumer:
        deadline = time.monotonic() + 90
        while True:
            with real_app.app_context():
                run = db.session.scalar(sa.select(RoundRun).where(RoundRun.round_id == round_id))
                status, outcome, pid = run.status, run.outcome, run.pid
                round_status = run.round.status
            if status not in (RunStatus.QUEUED, RunStatus.RUNNING) or time.monotonic() > deadline:
                break
            page = client.get(response.location).text
            assert '<meta http-equiv="refresh" content="2">' in page or "Optimal" in page
            time.sleep(0.3)
        log = consumer.log()
    assert status is RunStatus.DONE, log
    assert outcome == "optimal" and pid == consumer.pid
    assert round_status is RoundStatus.RUN
    done = client.get(response.location).text
    assert 'http-equiv="refresh"' not in done and "Award this run" in done
    with real_app.app_context():
        job = db.session.scalar(sa.select(JobRun).where(JobRun.task_name.like("%solve_run")))
        assert job is not None and job.status is JobStatus.SUCCEEDED
        assert job.requested_by_id is not None
