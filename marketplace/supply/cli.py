"""`flask supply fee-report`: the agency fees in supply cover charged, as CSV."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from marketplace.supply import reports

supply_cli = AppGroup("supply", help="The supply-staff managed service.")


def _day(_ctx: click.Context, param: click.Parameter, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"“{value}” is not a date like 2026-09-01") from None


@supply_cli.command("fee-report")
@click.option("--from", "first", required=True, callback=_day, help="First day (YYYY-MM-DD).")
@click.option("--to", "last", required=True, callback=_day, help="Last day (YYYY-MM-DD).")
def fee_report_command(first: date, last: date) -> None:
    """One CSV row per approved timesheet line worked in the dates: the charge in its parts."""
    if last < first:
        raise click.BadParameter("must be on or after --from", param_hint="--to")
    click.echo(reports.fee_report_csv(first, last), nl=False)
