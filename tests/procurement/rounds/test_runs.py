"""Runs of the aggregator: refused too early, recorded in full, repeatable, solved once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app import audit
from app.extensions import db
from app.time import utcnow
from marketplace.orders.models import Order
from procurement.contracts.models import Contract
from procurement.rounds.award import award_run
from procurement.rounds.errors import RoundStateConflict, RunStateConflict
from procurement.rounds.lifecycle import change_rules
from procurement.rounds.models import RoundNotice, RoundRun, RoundStatus, RunStatus
from procurement.rounds.pledges import withdraw_pledges
from procurement.rounds.runs import execute_run, queue_run, same_input_runs
from tests.procurement.rounds.factories import close, count, pledge, reserved, run_now


def test_a_run_before_the_deadline_or_without_pledges_is_refused(rw):
    pledge(rw, rw.world.sbm_a, 10)
    with pytest.raises(RoundStateConflict, match="Schools can pledge until"):
        queue_run(rw.buying_round.id, rw.world.committee)
    withdraw_pledges(rw.buying_round.id, rw.world.school_a.id, rw.world.sbm_a, rw.now)
    close(rw)
    with pytest.raises(RoundStateConflict, match="No school pledged"):
        queue_run(rw.buying_round.id, rw.world.committee)
    assert count(RoundRun) == 0


def test_a_run_records_inputs_solver_status_bound_gap_and_time_and_the_round_can_be_awarded(rw):
    pledge(rw, rw.world.sbm_a, 30)
    pledge(rw, rw.world.sbm_b, 25)
    close(rw)
    run = run_now(rw)
    assert run.status is RunStatus.DONE and run.outcome == "optimal"
    assert run.solver_label.startswith("HiGHS")
    assert run.objective_pence == 55 * 21_000 == run.bound_pence
    assert run.gap == 0.0 and run.seconds is not None and run.seconds >= 0
    assert run.started_at is not None and run.finished_at >= run.started_at
    assert run.inputs["rules"]["max_share"] == 1.0
    assert rw.buying_round.status is RoundStatus.RUN
    assert [e.action for e in audit.history("round_run", run.id)] == ["queued", "finished"]


def test_same_inputs_give_the_same_answer_and_changed_rules_a_new_one(rw):
    pledge(rw, rw.world.sbm_a, 30)
    pledge(rw, rw.world.sbm_b, 25)
    close(rw)
    first = run_now(rw)
    second = run_now(rw)
    assert second.number == first.number + 1
    assert second.inputs_sha256 == first.inputs_sha256
    assert second.answer_sha256 == first.answer_sha256
    assert second.result["allocations"] == first.result["allocations"]
    assert same_input_runs(second) == [(first, True)]
    change_rules(
        rw.buying_round.id,
        max_share_percent=60,
        min_providers=2,
        single_source=False,
        actor=rw.world.committee,
    )
    third = run_now(rw)
    assert third.inputs_sha256 != first.inputs_sha256
    assert third.outcome == "optimal"
    assert len({a["provider"] for a in third.result["awards"]}) == 2
    assert third.objective_pence > first.objective_pence  # resilience costs something
    assert same_input_runs(third) == []


def test_an_infeasible_run_is_kept_with_its_reason_and_cannot_be_awarded(rw):
    pledge(rw, rw.world.sbm_a, 10)
    close(rw)
    change_rules(
        rw.buying_round.id,
        max_share_percent=100,
        min_providers=3,
        single_source=False,
        actor=rw.world.committee,
    )
    run = run_now(rw)
    assert run.status is RunStatus.DONE and run.outcome == "infeasible"
    assert "min_providers" in run.message or "providers" in run.message
    assert rw.buying_round.status is RoundStatus.CLOSED  # nothing to award
    before = (count(Contract), count(Order), count(RoundNotice))
    with pytest.raises(RunStateConflict, match="found no allocation that meets the rules"):
        award_run(rw.buying_round.id, run.id, rw.world.committee)
    assert (count(Contract), count(Order), count(RoundNotice)) == before
    assert reserved(rw.offer_a, rw.term) == reserved(rw.offer_b, rw.term) == 0


def test_only_one_run_at_a_time_and_a_run_is_solved_once(rw):
    pledge(rw, rw.world.sbm_a, 10)
    close(rw)
    run = queue_run(rw.buying_round.id, rw.world.committee)
    with pytest.raises(RunStateConflict, match="still queued"):
        queue_run(rw.buying_round.id, rw.world.committee)
    execute_run(run.id)
    with pytest.raises(RunStateConflict, match="already started"):
        execute_run(run.id)


def test_a_run_whose_process_died_is_marked_failed_when_the_next_one_starts(rw):
    pledge(rw, rw.world.sbm_a, 10)
    close(rw)
    stuck = queue_run(rw.buying_round.id, rw.world.committee, time_limit_seconds=5)
    later = utcnow() + timedelta(minutes=10)
    assert stuck.stalled(later)
    fresh = queue_run(rw.buying_round.id, rw.world.committee, now=later)
    assert stuck.status is RunStatus.FAILED and "process stopped" in stuck.error
    assert fresh.status is RunStatus.QUEUED


def test_a_run_that_breaks_is_recorded_as_failed(rw):
    pledge(rw, rw.world.sbm_a, 10)
    close(rw)
    run = queue_run(rw.buying_round.id, rw.world.committee)
    run.inputs = {**run.inputs, "offers": [{"id": "broken"}]}
    db.session.commit()
    execute_run(run.id)
    assert run.status is RunStatus.FAILED
    assert "offers[0]" in run.error
