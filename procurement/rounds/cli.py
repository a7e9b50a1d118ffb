"""`flask rounds …`: run the aggregator on a buying round from the command line."""

from __future__ import annotations

import os

import click
from flask.cli import AppGroup

from app.errors import DomainError
from app.money import format_pence
from procurement import optimizer
from procurement.rounds.access import get_run
from procurement.rounds.answers import run_answer
from procurement.rounds.models import RunStatus
from procurement.rounds.runs import DEFAULT_TIME_LIMIT, MAX_TIME_LIMIT, execute_run, queue_run

rounds_cli = AppGroup("rounds", help="Buying rounds and the aggregator.")


@rounds_cli.command("run")
@click.argument("round_id", type=int)
@click.option(
    "--run",
    "run_id",
    type=int,
    help="Solve this queued run (the web page starts one this way); without it, a new run "
    "is recorded with the round's current pledges, offers and rules, then solved.",
)
@click.option("--solver", type=click.Choice(optimizer.SOLVERS), default=optimizer.HIGHS)
@click.option(
    "--time-limit",
    "time_limit",
    type=click.IntRange(1, MAX_TIME_LIMIT),
    default=DEFAULT_TIME_LIMIT,
    show_default=True,
    help="Seconds the solver may take.",
)
def run_command(round_id: int, run_id: int | None, solver: str, time_limit: int) -> None:
    """Run the aggregator on ROUND_ID and print what it found."""
    try:
        if run_id is None:
            run = queue_run(round_id, None, solver=solver, time_limit_seconds=time_limit)
            click.echo(f"Run {run.number} recorded (inputs {run.inputs_sha256[:12]}).")
        else:
            run = get_run(round_id, run_id)
        run = execute_run(run.id, pid=os.getpid())
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    if run.status is RunStatus.FAILED:
        raise click.ClickException(f"Run {run.number} failed: {run.error}")
    click.echo(f"Run {run.number}: {run.outcome} ({run.solver_label}, {run.seconds:.2f} s)")
    if run.message:
        click.echo(run.message)
    if run.objective_pence is not None:
        click.echo(
            f"cost {format_pence(run.objective_pence)}, bound "
            f"{format_pence(run.bound_pence)}, gap {(run.gap or 0) * 100:.3f}%"
        )
    answer = run_answer(run)
    if answer is not None and answer.lines:
        click.echo(
            f"schools {len({line.school_id for line in answer.lines})}, alone "
            f"{format_pence(answer.standalone_total_pence)}, pooled "
            f"{format_pence(answer.charged_total_pence)}, saving "
            f"{format_pence(answer.saving_total_pence)}, unmet {answer.unmet_units}"
        )
    click.echo(f"answer {run.answer_sha256}")
