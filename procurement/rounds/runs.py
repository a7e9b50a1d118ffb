"""Running the aggregator: a run records its inputs when queued, is solved once (by a queue
consumer: `procurement.rounds.tasks`, or inline by `flask rounds run`), and is compared with
the runs on the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app import audit
from app.extensions import db, rows_changed
from app.models import User
from app.time import format_instant, utcnow
from app.use_case import use_case
from procurement import optimizer
from procurement.rounds.access import audit_scope, lock_round, record_round_change
from procurement.rounds.errors import RoundError, RoundStateConflict, RunNotFound, RunStateConflict
from procurement.rounds.inputs import build_inputs, fingerprint
from procurement.rounds.models import (
    ROUND_FINISHED_STATUSES,
    ROUND_RUNNABLE_STATUSES,
    RoundRun,
    RoundStatus,
    RunStatus,
)

DEFAULT_TIME_LIMIT = 60
MAX_TIME_LIMIT = 600


def answer_of(result: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a result that is the answer (not timings): fingerprinted to compare runs."""
    keys = ("status", "objective_pence", "awards", "allocations", "unmet", "charges")
    return {key: result.get(key) for key in keys}


def _fail_stalled_runs(round_id: int, now: datetime) -> None:
    for run in db.session.scalars(
        sa.select(RoundRun).where(
            RoundRun.round_id == round_id,
            RoundRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
        )
    ):
        if not run.stalled(now):
            raise RunStateConflict(
                f"Run {run.number} is still {run.status.value}; wait for it to finish."
            )
        run.status = RunStatus.FAILED
        run.finished_at = now
        run.error = "The run did not finish: its process stopped before it could answer."
        run.progress = "Stopped"
        audit.record(
            None,
            "round_run",
            run.id,
            "failed",
            after={"error": run.error},
            scope=audit_scope(round_id),
        )


@use_case
def queue_run(
    round_id: int,
    actor: User | None,
    now: datetime | None = None,
    *,
    solver: str = optimizer.HIGHS,
    time_limit_seconds: int = DEFAULT_TIME_LIMIT,
    before_commit: Callable[[RoundRun], object] | None = None,
) -> RoundRun:
    """Record a new run with the round's current pledges, offers and rules as its inputs.
    `before_commit` is called with the new run before it is committed (to queue its job)."""
    now = now or utcnow()
    if solver not in optimizer.SOLVERS:
        raise RoundError(f"Choose a solver: {', '.join(optimizer.SOLVERS)}", field="solver")
    if not isinstance(time_limit_seconds, int) or not 1 <= time_limit_seconds <= MAX_TIME_LIMIT:
        raise RoundError(
            f"The time limit must be between 1 and {MAX_TIME_LIMIT} seconds",
            field="time_limit_seconds",
        )
    buying_round = lock_round(round_id)
    if buying_round.status is RoundStatus.DRAFT:
        raise RoundStateConflict("Open the round for pledges first; a draft has no pledges.")
    if buying_round.status in ROUND_FINISHED_STATUSES:
        raise RoundStateConflict(
            f"This round is {buying_round.status.value}, so the aggregator cannot run again."
        )
    assert buying_round.status in ROUND_RUNNABLE_STATUSES
    if now < buying_round.pledge_deadline_at:
        raise RoundStateConflict(
            f"Schools can pledge until {format_instant(buying_round.pledge_deadline_at)}. Run the "
            "aggregator after the deadline, or close pledging first."
        )
    _fail_stalled_runs(round_id, now)
    inputs = build_inputs(buying_round)
    if not inputs.instance["demand"]:
        raise RoundStateConflict("No school pledged in this round, so there is nothing to run.")
    if not inputs.instance["offers"]:
        raise RoundStateConflict(
            "No offer in this round can take part (withdrawn, or not running in its terms)."
        )
    if buying_round.status is RoundStatus.OPEN:
        before = buying_round.snapshot()
        buying_round.status = RoundStatus.CLOSED
        buying_round.closed_at = now
        record_round_change(actor, buying_round, "pledging closed", before)
    number = (
        db.session.scalar(
            sa.select(sa.func.max(RoundRun.number)).where(RoundRun.round_id == round_id)
        )
        or 0
    ) + 1
    run = RoundRun(
        round_id=round_id,
        number=number,
        status=RunStatus.QUEUED,
        progress="Waiting to start",
        solver=solver,
        time_limit_seconds=time_limit_seconds,
        inputs=inputs.instance,
        labels=inputs.labels,
        inputs_sha256=inputs.sha256,
        started_by_id=actor.id if actor is not None else None,
        queued_at=now,
    )
    db.session.add(run)
    db.session.flush()
    audit.record(
        actor,
        "round_run",
        run.id,
        "queued",
        after={
            "number": number,
            "solver": solver,
            "time_limit_seconds": time_limit_seconds,
            "inputs_sha256": inputs.sha256,
            "rules": inputs.instance["rules"],
        },
        scope=audit_scope(round_id),
    )
    if before_commit is not None:
        before_commit(run)
    db.session.commit()
    return run


def requeue_interrupted(run_id: int) -> bool:
    """Put a run whose solver died half-way back in the queue (running → queued), so it can be
    solved again from its recorded inputs; the caller must hold the run's job. True if it did."""
    changed = rows_changed(
        sa.update(RoundRun)
        .where(RoundRun.id == run_id, RoundRun.status == RunStatus.RUNNING)
        .values(status=RunStatus.QUEUED, started_at=None, pid=None, progress="Starting again")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return changed == 1


def execute_run(run_id: int, *, pid: int | None = None) -> RoundRun:
    """Solve a queued run and record its answer (or why it failed); commits twice.

    First the run is claimed (queued → running, one conditional UPDATE, so two workers never
    solve the same run), then the optimizer answers, and the answer is stored.
    """
    started = utcnow()
    claimed = rows_changed(
        sa.update(RoundRun)
        .where(RoundRun.id == run_id, RoundRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.RUNNING, started_at=started, pid=pid, progress="Solving")
        .execution_options(synchronize_session=False)
    )
    if claimed != 1:
        db.session.rollback()
        run = db.session.get(RoundRun, run_id)
        if run is None:
            raise RunNotFound("There is no such run.")
        raise RunStateConflict(f"Run {run.number} has already started (it is {run.status.value}).")
    db.session.commit()
    run = db.session.get(RoundRun, run_id, populate_existing=True)
    assert run is not None
    try:
        instance = optimizer.instance_from_json(run.inputs)
        result = optimizer.solve(
            instance, solver=run.solver, time_limit=float(run.time_limit_seconds)
        )
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the run
        db.session.rollback()
        run = db.session.get(RoundRun, run_id, populate_existing=True)
        assert run is not None
        run.status = RunStatus.FAILED
        run.finished_at = utcnow()
        run.progress = "Failed"
        run.error = f"{type(exc).__name__}: {exc}"[:4000]
        audit.record(
            run.started_by,
            "round_run",
            run.id,
            "failed",
            after={"error": run.error},
            scope=audit_scope(run.round_id),
        )
        db.session.commit()
        return run
    data = optimizer.result_to_json(result)
    run.result = data
    run.answer_sha256 = fingerprint(answer_of(data))
    run.outcome = result.status
    run.message = result.message or ""
    run.objective_pence = result.objective_pence
    run.bound_pence = result.bound_pence
    run.gap = result.gap
    run.seconds = round(result.seconds.total, 4)
    run.solver_label = result.solver
    run.status = RunStatus.DONE
    run.finished_at = utcnow()
    run.progress = "Finished"
    buying_round = lock_round(run.round_id)
    if run.found_allocation and buying_round.status in (RoundStatus.OPEN, RoundStatus.CLOSED):
        buying_round.status = RoundStatus.RUN
    audit.record(
        run.started_by,
        "round_run",
        run.id,
        "finished",
        after={
            "outcome": run.outcome,
            "objective_pence": run.objective_pence,
            "bound_pence": run.bound_pence,
            "gap": run.gap,
            "seconds": run.seconds,
            "solver": run.solver_label,
            "answer_sha256": run.answer_sha256,
        },
        scope=audit_scope(run.round_id),
    )
    db.session.commit()
    return run


def same_input_runs(run: RoundRun) -> list[tuple[RoundRun, bool | None]]:
    """Other runs of the round with exactly the same inputs and solver, and whether they agree."""
    others = db.session.scalars(
        sa.select(RoundRun)
        .where(
            RoundRun.round_id == run.round_id,
            RoundRun.id != run.id,
            RoundRun.inputs_sha256 == run.inputs_sha256,
            RoundRun.solver == run.solver,
        )
        .order_by(RoundRun.number)
    )
    result = []
    for other in others:
        agrees = None
        if other.answer_sha256 is not None and run.answer_sha256 is not None:
            agrees = other.answer_sha256 == run.answer_sha256
        result.append((other, agrees))
    return result
