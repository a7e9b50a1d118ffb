"""Command line: `flask ocds export [--tender ID]`."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from app.errors import DomainError
from app.time import utcnow
from procurement.tenders import ocds

ocds_cli = AppGroup("ocds", help="Open Contracting Data Standard notices.")


@ocds_cli.command("export")
@click.option("--tender", "tender_id", type=int, help="Only this tender's releases.")
def export_command(tender_id: int | None) -> None:
    """Write an OCDS 1.1 release package of the published releases to stdout."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    uri = f"urn:pooled:ocds:{'tender-' + str(tender_id) if tender_id else 'all'}:{stamp}"
    try:
        package = ocds.release_package(tender_id, uri=uri)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(json.dumps(package, indent=2, ensure_ascii=False))
