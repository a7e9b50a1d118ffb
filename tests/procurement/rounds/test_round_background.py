"""A run started from the round page is solved by a detached `flask rounds run` process."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from procurement.rounds.models import RoundRun, RoundStatus, RunStatus
from tests import factories
from tests.conftest import make_app
from tests.procurement.rounds.factories import close, make_round_world, pledge


@pytest.fixture(scope="module")
def real_app(module_database, tmp_path_factory):
    """The app on a database of its own: the web request and the process really commit."""
    tmp = tmp_path_factory.mktemp("round-runs")
    application = make_app(module_database, tmp, ROUND_RUN_LOG_DIR=str(tmp / "logs"))
    yield application
    with application.app_context():
        db.engine.dispose()


def test_the_page_returns_at_once_and_the_process_records_the_answer(real_app):
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
    assert time.monotonic() - started < 3  # the worker did not solve it
    deadline = time.monotonic() + 90
    while True:
        with real_app.app_context():
            run = db.session.scalar(sa.select(RoundRun).where(RoundRun.round_id == round_id))
            status, outcome, pid = run.status, run.outcome, run.pid
            round_status = run.round.status
            run_id = run.id
        if status not in (RunStatus.QUEUED, RunStatus.RUNNING) or time.monotonic() > deadline:
            break
        page = client.get(response.location).text
        assert '<meta http-equiv="refresh" content="2">' in page or "Optimal" in page
        time.sleep(0.3)
    log = real_app.config["ROUND_RUN_LOG_DIR"] + f"/round-run-{run_id}.log"
    assert status is RunStatus.DONE, open(log).read()  # noqa: PTH123
    assert outcome == "optimal" and pid is not None
    assert round_status is RoundStatus.RUN
    done = client.get(response.location).text
    assert 'http-equiv="refresh"' not in done and "Award this run" in done
