"""`flask billing import-payments FILE.csv [--dry-run]`: the bank's payments to providers."""

from __future__ import annotations

from pathlib import Path

import click

from app.errors import DomainError
from app.money import format_pence
from marketplace.payouts import services
from marketplace.payouts.errors import BankFileRefused


@click.command("import-payments")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and say what it would record.")
def import_payments_command(path: Path, dry_run: bool) -> None:
    """Record the payments to providers in the bank's CSV file, all or nothing.

    Columns: date, amount, reference, and payee (the provider's name) or provider_id. A file
    with any problem is refused, every problem named, and nothing is recorded; lines already
    recorded are skipped.
    """
    data = path.read_bytes()
    checked = services.check_bank_file(data)
    if not checked.ok:
        for problem in checked.problems:
            click.echo(problem, err=True)
        raise click.ClickException(
            f"{path.name} was not imported: {len(checked.problems)} problems. Nothing was recorded."
        )
    for row in checked.rows:
        assert row.provider is not None and row.paid_on is not None  # a good row has them
        what = "already recorded, skipped" if row.already_recorded else "to record"
        click.echo(
            f"Line {row.line}: {row.paid_on.isoformat()} {format_pence(row.amount_pence)} "
            f"{row.reference} → {row.provider.name} ({what})"
        )
    if dry_run:
        click.echo(
            f"Dry run: {len(checked.to_record)} payments ({format_pence(checked.total_pence)}) "
            f"would be recorded, {len(checked.already_recorded)} are already recorded. "
            "Nothing was recorded."
        )
        return
    try:
        result = services.import_bank_file(data, filename=path.name, actor=None)
    except BankFileRefused as exc:  # the payments changed since the check above
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"{path.name} was not imported. Nothing was recorded.") from exc
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"Recorded {result.recorded} payments ({format_pence(result.total_pence)}); "
        f"{result.already_recorded} already recorded were skipped."
    )
