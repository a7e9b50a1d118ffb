"""`flask jobs …`: run a queue consumer, list and re-send jobs."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup

from app.jobs.queue import huey
from app.jobs.services import recent_jobs, requeue_stale

jobs_cli = AppGroup("jobs", help="Background jobs (the huey queue).")


@jobs_cli.command("worker")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Jobs run at the same time (threads); default JOBS_WORKERS.",
)
@click.option(
    "--periodic/--no-periodic",
    default=True,
    show_default=True,
    help="Also start the periodic tasks (run it on one consumer only when there are several; "
    "a second scheduler is harmless but does the checks twice).",
)
def worker_command(workers: int | None, periodic: bool) -> None:
    """Run a consumer: take jobs off the queue and run them until Ctrl-C (or SIGTERM)."""
    if huey.immediate:
        raise click.ClickException("JOBS_IMMEDIATE is set: jobs run inline, there is no queue.")
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s"
    )
    count = workers or int(current_app.config["JOBS_WORKERS"])
    where = "Redis" if current_app.config["REDIS_URL"] else "SQLite"
    click.echo(f"Jobs consumer: {count} workers on the {where} queue {huey.name!r}.", err=True)
    consumer = huey.create_consumer(
        workers=count, worker_type="thread", periodic=periodic, check_worker_health=True
    )
    consumer.run()


@jobs_cli.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def list_command(limit: int) -> None:
    """The latest jobs, newest first."""
    for run in recent_jobs(limit):
        line = (
            f"{run.id:>6} {run.status.value:<9} {run.attempts}x {run.task_name}({run.args_summary})"
        )
        if run.last_error:
            line += f" — {run.last_error.splitlines()[0][:120]}"
        click.echo(line)


@jobs_cli.command("requeue")
def requeue_command() -> None:
    """Send again the jobs whose consumer died or whose message was lost."""
    click.echo(f"{requeue_stale()} jobs sent again.")
