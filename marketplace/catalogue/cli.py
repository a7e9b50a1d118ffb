"""`flask services export` and `flask services import FILE.csv` (see transfer.py)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.errors import DomainError
from marketplace.catalogue import transfer

services_cli = AppGroup("services", help="The catalogue's services as a CSV file.")


@services_cli.command("export")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of the screen.",
)
def export_command(output: Path | None) -> None:
    """Every service (retired ones too) as CSV, with a header row."""
    text = transfer.export_csv()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Written to {output}.")


@services_cli.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
def import_command(csv_file: Path) -> None:
    """Create or update services from a CSV file, by slug; a bad file changes nothing."""
    try:
        data = csv_file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"Cannot read {csv_file}: {exc.strerror}") from exc
    try:
        report = transfer.import_csv(data, None)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"created: {report.created}")
    click.echo(f"updated: {report.updated}")
    click.echo(f"unchanged: {report.unchanged}")
