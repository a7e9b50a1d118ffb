"""`flask billing run`, `flask billing reconcile` and `flask billing import-payments`."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from app.errors import DomainError
from marketplace.billing import runs
from marketplace.billing import webhooks as billing_events
from marketplace.billing.state import gateway_from_config
from marketplace.billing.stripe_gateway import GatewayError
from marketplace.payouts.cli import import_payments_command

billing_cli = AppGroup(
    "billing", help="Billing: invoices through Stripe, reconciliation, payments to providers."
)
billing_cli.add_command(import_payments_command)


@billing_cli.command("run")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Bill as if today were this date (YYYY-MM-DD); call-offs are billed once their term "
    "has ended.",
)
def run_command(as_of: object | None) -> None:
    """Bill everything due; safe to run again (it resumes and never bills twice)."""
    day: date | None = as_of.date() if as_of is not None else None  # type: ignore[attr-defined]
    gateway = gateway_from_config()
    if gateway is None:
        click.echo("Stripe is not configured (STRIPE_API_KEY is empty): invoices are kept here.")
    try:
        run = runs.start_run(None, day)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Billing run {run.id} for {run.as_of:%-d %B %Y}.")
    try:
        report = runs.execute(run, gateway, progress=click.echo)
    except (DomainError, GatewayError) as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(report.summary())
    for failure in report.failures:
        click.echo(f"  failed: {failure}", err=True)
    if report.failures:
        raise SystemExit(1)


@billing_cli.command("reconcile")
def reconcile_command() -> None:
    """Apply what webhooks missed: Stripe's invoices and events since the last reconciliation."""
    gateway = gateway_from_config()
    if gateway is None:
        raise click.ClickException("Stripe is not configured (STRIPE_API_KEY is empty).")
    try:
        report = billing_events.reconcile(gateway)
    except GatewayError as exc:
        raise click.ClickException(exc.message) from exc
    for line in report.lines:
        click.echo(line)
    click.echo(report.summary())
