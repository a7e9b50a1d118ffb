"""Jobs through a real consumer (`flask jobs worker` in its own process): on SQLite with the
SQLite queue, on PostgreSQL with the Redis queue. A consumer killed with SIGKILL half-way
through a billing run is restarted and the run finishes with nothing billed twice."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.jobs import JobRun, JobStatus, enqueue_after_commit, send
from app.models import AuditEvent, GiasImport, GiasImportStatus, Role, School
from app.time import utcnow
from marketplace.billing import runs
from marketplace.billing.models import BillingRun, BillingRunStatus, Invoice, InvoiceLine
from marketplace.billing.tasks import execute_billing_run
from procurement.rounds.models import RoundRun, RoundStatus, RunStatus
from procurement.rounds.runs import queue_run
from procurement.rounds.tasks import solve_run
from tests import factories
from tests.app.jobs.tasks_for_tests import note_once
from tests.databases import fresh_database, migrate
from tests.procurement.rounds.factories import close, make_round_world, pledge
from tests.support.consumer import LEASE_SECONDS, QueueForTests, wait_for

pytestmark = pytest.mark.slow

# Enough member schools that a billing run takes a while: the consumer is killed after the
# first invoices are written and long before the last.
SCHOOLS = 400


@pytest.fixture
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of the test's own: the consumer and the test really commit."""
    with fresh_database(backend, tmp_path) as url:
        migrate(factories_app(url, tmp_path))
        yield url


def factories_app(url: str, tmp: Path) -> Flask:
    from tests.conftest import make_app

    return make_app(url, tmp)


@pytest.fixture
def queue(backend: str, tmp_path: Path) -> Iterator[QueueForTests]:
    """SQLite with the SQLite queue (the embedded default); PostgreSQL with Redis."""
    made = QueueForTests.sqlite(tmp_path) if backend == "sqlite" else QueueForTests.redis()
    yield made
    made.flush()


def job(app: Flask, job_id: int) -> JobRun:
    with app.app_context():
        found = db.session.get(JobRun, job_id)
        assert found is not None
        db.session.expunge(found)
        return found


def test_a_billing_run_and_an_aggregator_run_are_done_by_the_consumer(database, queue, tmp_path):
    app = queue.app(database, tmp_path)
    with app.app_context():
        world = factories.make_world()
        rw = make_round_world(world)
        pledge(rw, world.sbm_a, 10)
        pledge(rw, world.sbm_b, 45)
        close(rw)
        round_run = queue_run(
            rw.buying_round.id,
            world.committee,
            before_commit=lambda run: enqueue_after_commit(solve_run, run.id),
        )
        billing_run = runs.start_run(
            world.admin,
            before_commit=lambda run: enqueue_after_commit(
                execute_billing_run, run.id, requested_by=world.admin
            ),
        )
        ids = (round_run.id, billing_run.id, world.admin.id)
        # Nothing ran in this process: the jobs wait on the queue.
        assert db.session.get(RoundRun, round_run.id).status is RunStatus.QUEUED
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 0

    with queue.consumer(database, tmp_path) as consumer:

        def both_done() -> bool:
            with app.app_context():
                statuses = set(db.session.scalars(sa.select(JobRun.status)))
            return statuses == {JobStatus.SUCCEEDED}

        wait_for(both_done, 120, "both jobs to succeed", consumer)

    with app.app_context():
        round_run = db.session.get(RoundRun, ids[0])
        assert (round_run.status, round_run.outcome) == (RunStatus.DONE, "optimal")
        assert round_run.pid is not None and round_run.pid != 0
        assert round_run.round.status is RoundStatus.RUN
        billing_run = db.session.get(BillingRun, ids[1])
        assert billing_run.status is BillingRunStatus.FINISHED
        assert billing_run.invoices_created == 2  # the two member schools' memberships
        assert billing_run.runner.endswith(f":{consumer.pid}")
        # The set-up's pledges and emails queued jobs of their own (indicative prices, emails).
        wanted = ("solve_run", "execute_billing_run")
        jobs = [
            j
            for j in db.session.scalars(sa.select(JobRun).order_by(JobRun.id))
            if j.task_name.rsplit(".", 1)[-1] in wanted
        ]
        assert [(j.task_name.rsplit(".", 1)[-1], j.attempts) for j in jobs] == [
            ("solve_run", 1),
            ("execute_billing_run", 1),
        ]
        assert jobs[1].requested_by_id == ids[2]


def test_a_consumer_killed_mid_billing_run_is_restarted_and_nothing_is_billed_twice(
    database, queue, tmp_path
):
    app = queue.app(database, tmp_path)
    with app.app_context():
        term = factories.make_membership_term()
        admin = factories.make_user(Role.ADMIN)
        for _ in range(SCHOOLS):
            factories.make_membership(factories.make_school(), term)
        run = runs.start_run(
            admin, before_commit=lambda run: enqueue_after_commit(execute_billing_run, run.id)
        )
        run_id = run.id

    def invoices() -> int:
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) or 0

    with queue.consumer(database, tmp_path) as first:
        written = wait_for(invoices, 60, "the first invoices", first)
        first.kill()
    at_kill = invoices()
    assert 0 < written <= at_kill < SCHOOLS, "the run must be killed half-way"
    with app.app_context():
        stuck = db.session.scalar(sa.select(JobRun))
        assert stuck is not None
        assert (stuck.status, stuck.attempts) == (JobStatus.RUNNING, 1)
        assert db.session.get(BillingRun, run_id).status is BillingRunStatus.RUNNING

    with queue.consumer(database, tmp_path) as second:
        # Its lease lapses LEASE_SECONDS after the kill; the new consumer looks then.
        wait_for(
            lambda: job(app, stuck.id).status is JobStatus.SUCCEEDED,
            60 + LEASE_SECONDS,
            "the job to be taken over and finish",
            second,
        )

    done = job(app, stuck.id)
    assert done.attempts == 2
    assert done.claimed_by.split(":")[1] == str(second.pid)
    assert invoices() == SCHOOLS
    with app.app_context():
        billing_run = db.session.get(BillingRun, run_id)
        assert billing_run.status is BillingRunStatus.FINISHED
        # Each membership billed once: on one line of one invoice.
        lines = db.session.execute(
            sa.select(InvoiceLine.membership_id, sa.func.count())
            .group_by(InvoiceLine.membership_id)
            .having(sa.func.count() > 1)
        ).all()
        assert lines == []
        assert (
            db.session.scalar(sa.select(sa.func.count(sa.distinct(InvoiceLine.membership_id))))
            == SCHOOLS
        )


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_consumers_on_redis_run_every_job_exactly_once(database, tmp_path):
    queue = QueueForTests.redis()
    app = queue.app(database, tmp_path)
    keys = [f"job-{n}" for n in range(40)]
    try:
        with (
            queue.consumer(database, tmp_path, workers=2) as one,
            queue.consumer(database, tmp_path, workers=2, periodic=False) as two,
        ):
            with app.app_context():
                ids = []
                for key in keys:
                    ids.append(enqueue_after_commit(note_once, key).id)
                    db.session.commit()
                # Every message twice, as a re-delivery would: the claim runs each job once.
                for job_id in ids:
                    send(note_once.name, job_id)

            def all_done() -> bool:
                with app.app_context():
                    return db.session.scalar(
                        sa.select(sa.func.count())
                        .select_from(JobRun)
                        .where(JobRun.status == JobStatus.SUCCEEDED)
                    ) == len(keys)

            wait_for(all_done, 120, "every job to succeed", one)
            pids = {str(one.pid), str(two.pid)}
    finally:
        queue.flush()
    with app.app_context():
        noted = db.session.execute(
            sa.select(AuditEvent.entity_id, sa.func.count())
            .where(AuditEvent.entity_type == "job_test")
            .group_by(AuditEvent.entity_id)
        ).all()
        assert sorted(noted) == sorted((key, 1) for key in keys)
        workers = {
            label.split(":")[1] for label in db.session.scalars(sa.select(JobRun.claimed_by))
        }
        assert workers == pids  # both consumers took jobs
        assert set(db.session.scalars(sa.select(JobRun.attempts))) == {1}


def test_a_large_gias_upload_is_imported_by_the_consumer_while_its_page_shows_progress(
    database, queue, tmp_path
):
    from tests.app.test_schools_import import big_file

    app = queue.app(database, tmp_path, GIAS_QUEUE_ABOVE=100)
    with app.app_context():
        admin = factories.make_user(Role.ADMIN)
        db.session.commit()
        email = admin.email
    client = app.test_client()
    signed_in = client.post("/sign-in", data={"email": email, "password": factories.PASSWORD})
    assert signed_in.status_code == 302
    preview = client.post(
        "/admin/schools/import",
        data={"file": (io.BytesIO(big_file(12)), "big.csv"), "la_code": ""},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 302  # to the preview: nothing imported before confirming
    shown = client.get(preview.location).get_data(as_text=True)
    sha256 = re.search(r"SHA-256 <code>([0-9a-f]{64})</code>", shown).group(1)
    response = client.post(preview.location, data={"sha256": sha256})
    assert response.status_code == 302
    waiting = client.get(response.location).get_data(as_text=True)
    assert "0 of 1080 schools imported" in waiting  # no consumer yet: nothing done in the web
    assert '<meta http-equiv="refresh" content="3">' in waiting

    with queue.consumer(database, tmp_path) as consumer:
        wait_for(
            lambda: "Import finished" in client.get(response.location).get_data(as_text=True),
            120,
            "the import to finish",
            consumer,
        )
    page = client.get(response.location).get_data(as_text=True)
    assert "Import finished: 1080 created, 0 updated" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(School)) == 1080
        record = db.session.scalar(sa.select(GiasImport))
        assert (record.status, record.rows_done) == (GiasImportStatus.FINISHED, 1080)


def test_an_aggregator_run_left_running_by_a_killed_consumer_is_solved_by_the_next(
    database, queue, tmp_path
):
    # What a consumer killed mid-solve leaves behind (a solve takes milliseconds here, too
    # short to kill reliably): the run marked running, its job claimed under a lapsed lease.
    app = queue.app(database, tmp_path)
    with app.app_context():
        world = factories.make_world()
        rw = make_round_world(world)
        pledge(rw, world.sbm_a, 10)
        pledge(rw, world.sbm_b, 45)
        close(rw)
        run = queue_run(rw.buying_round.id, world.committee)
        run.status, run.started_at, run.pid = RunStatus.RUNNING, utcnow(), 999_999
        stuck = JobRun(
            task_name=solve_run.name,
            args={"args": [run.id], "kwargs": {}},
            args_summary=str(run.id),
            status=JobStatus.RUNNING,
            attempts=1,
            claimed_by="gone:999999:killed",
            lease_until=utcnow() - timedelta(seconds=1),
        )
        db.session.add(stuck)
        db.session.commit()
        run_id, job_id = run.id, stuck.id

    with queue.consumer(database, tmp_path) as consumer:
        wait_for(
            lambda: job(app, job_id).status is JobStatus.SUCCEEDED,
            60 + LEASE_SECONDS,
            "the run's job to be taken over",
            consumer,
        )

    with app.app_context():
        run = db.session.get(RoundRun, run_id)
        assert (run.status, run.outcome, run.pid) == (RunStatus.DONE, "optimal", consumer.pid)
        finished = [
            e.action
            for e in db.session.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.entity_type == "round_run", AuditEvent.entity_id == str(run_id)
                )
            )
        ]
        assert finished.count("finished") == 1
    assert job(app, job_id).attempts == 2
