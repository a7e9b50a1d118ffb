"""Command-line tools: `flask setup`, `flask schools …`, `flask demo …`, `flask users …`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from app import accounts, providers, setup
from app import schools as school_service
from app.demo import accounts as demo_accounts
from app.demo import seed as demo
from app.errors import DomainError
from app.extensions import db
from app.jobs.cli import jobs_cli
from app.models import Provider, ProviderKind, Role, School
from marketplace.billing.cli import billing_cli
from marketplace.catalogue.cli import services_cli
from marketplace.supply.cli import supply_cli
from procurement.rounds.cli import rounds_cli
from procurement.tenders.cli import ocds_cli

schools_cli = AppGroup("schools", help="Schools and the GIAS import.")
demo_cli = AppGroup("demo", help="The demo partnership.")
users_cli = AppGroup("users", help="User accounts.")
providers_cli = AppGroup("providers", help="Provider organisations.")


@schools_cli.command("import-gias")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--la", "la_code", help="Import only schools of this local authority code (e.g. 307)."
)
def import_gias_command(csv_file: Path, la_code: str | None) -> None:
    """Add and update schools from a GIAS establishment export (CSV)."""
    try:
        data = csv_file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"Cannot read {csv_file}: {exc.strerror}") from exc
    bar: list[object] = []

    def progress(done: int, total: int) -> None:
        if total < 1000:
            return
        if not bar:
            bar.append(click.progressbar(length=total, label="Importing schools", file=sys.stderr))
            bar[0].__enter__()  # type: ignore[attr-defined]
        bar[0].update(done - bar[0].pos)  # type: ignore[attr-defined]

    try:
        report = school_service.import_gias(data, la_code=la_code, progress=progress)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        if bar:
            bar[0].__exit__(None, None, None)  # type: ignore[attr-defined]
    click.echo(f"created: {report.created}")
    click.echo(f"updated: {report.updated}")
    click.echo(f"unchanged: {report.unchanged}")
    click.echo(f"skipped (closed): {report.skipped_closed}")
    if la_code:
        click.echo(f"skipped (other local authorities): {report.skipped_other_la}")
    click.echo(f"flagged (no pupil count): {report.flagged}")
    click.echo(f"trusts created: {report.trusts_created}")


def print_logins() -> None:
    click.echo(f"Demo logins (password for all: {demo_accounts.DEMO_PASSWORD}):")
    for account in demo_accounts.ACCOUNTS:
        click.echo(f"  {account.email:32} {account.what}")


@demo_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing unless the database has no users.")
def demo_seed_command(if_empty: bool) -> None:
    """Build the demo partnership (safe to run again)."""
    if if_empty and not demo.is_empty():
        click.echo("The database already has data; demo seed skipped.")
        return
    data_dir = Path(current_app.config["DEMO_DATA_DIR"])
    if not (data_dir / "schools" / "ealing_schools_67.csv").exists():
        raise click.ClickException(
            f"Demo data not found in {data_dir}. Set POOLED_DATA_DIR to the shared data folder."
        )
    added = demo.seed(data_dir)
    click.echo("Demo partnership ready: " + ", ".join(f"{n} {k} added" for k, n in added.items()))


@demo_cli.command("logins")
def demo_logins_command() -> None:
    """Print the demo accounts."""
    print_logins()


@providers_cli.command("create")
@click.option("--name", required=True, help="The organisation's name.")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in ProviderKind]),
    default=ProviderKind.COMPANY.value,
    show_default=True,
    help="school: a member school selling to others (give --school-urn).",
)
@click.option("--school-urn", type=int, help="The school, for a school selling to others.")
@click.option("--contact-email", default="", help="The provider's contact address.")
def providers_create_command(
    name: str, kind: str, school_urn: int | None, contact_email: str
) -> None:
    """Add a provider organisation (then invite its people with `flask users invite`)."""
    school_id = None
    if school_urn is not None:
        school_id = db.session.scalar(sa.select(School.id).where(School.urn == school_urn))
        if school_id is None:
            raise click.ClickException(f"No school with URN {school_urn}.")
    try:
        provider = providers.create_provider(
            name=name,
            kind=ProviderKind(kind),
            school_id=school_id,
            contact_email=contact_email,
            actor=None,
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Provider {provider.name} added (id {provider.id}).")


def _organisation(role: Role, organisation: str) -> tuple[int | None, int | None]:
    """(school id, provider id) named by --organisation: a school's URN or exact name for a
    school role, a provider's exact name for a provider user."""
    text = organisation.strip()
    if role in (Role.SBM, Role.HEAD):
        condition = School.urn == int(text) if text.isascii() and text.isdigit() else None
        school_id = db.session.scalar(
            sa.select(School.id).where(condition if condition is not None else School.name == text)
        )
        if school_id is None:
            raise click.ClickException(f"No school with URN or name {text!r}.")
        return school_id, None
    if role is Role.PROVIDER:
        provider_id = db.session.scalar(sa.select(Provider.id).where(Provider.name == text))
        if provider_id is None:
            raise click.ClickException(f"No provider called {text!r}.")
        return None, provider_id
    raise click.ClickException(
        f"A {role.label.lower()} works for the partnership: leave out --organisation."
    )


@users_cli.command("invite")
@click.option("--email", required=True)
@click.option("--name", default="", help="Their name (default: from the email address).")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--organisation",
    help="A school's URN or name (business managers, heads) or a provider's name.",
)
@click.option("--school-urn", type=int, help="For business managers and heads.")
@click.option("--provider", "provider_name", help="Provider name, for provider users.")
def users_invite_command(
    email: str,
    name: str,
    role: str,
    organisation: str | None,
    school_urn: int | None,
    provider_name: str | None,
) -> None:
    """Invite someone: email them a link to set their own password, and print the link."""
    school_id = provider_id = None
    if organisation:
        school_id, provider_id = _organisation(Role(role), organisation)
    name = name.strip() or email.strip().split("@")[0]
    if school_urn is not None:
        school_id = db.session.scalar(sa.select(School.id).where(School.urn == school_urn))
        if school_id is None:
            raise click.ClickException(f"No school with URN {school_urn}.")
    if provider_name:
        provider_id = db.session.scalar(
            sa.select(Provider.id).where(Provider.name == provider_name)
        )
        if provider_id is None:
            raise click.ClickException(f"No provider called {provider_name!r}.")
    try:
        user, link = accounts.invite_user(
            name=name,
            email=email,
            role=Role(role),
            school_id=school_id,
            provider_id=provider_id,
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Invited {user.email} ({user.role.label}). The link works once, for 7 days:")
    click.echo(link)


@click.command("setup")
@click.option("--partnership-name", required=True, help="The partnership's name, as on invoices.")
@click.option("--admin-email", required=True, help="The first admin's email address.")
@click.option("--admin-name", default="", help="The first admin's name (default: from the email).")
def setup_command(partnership_name: str, admin_email: str, admin_name: str) -> None:
    """Set up an empty database: the partnership's settings and an invitation for its first
    admin (emailed, and printed here)."""
    try:
        user, link = setup.setup(partnership_name, admin_email, admin_name)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{partnership_name.strip()} is set up.")
    click.echo(f"Invited {user.email} as the first admin. The link works once, for 7 days:")
    click.echo(link)
    click.echo("Then, signed in: Settings (VAT number, address, bank details), the catalogue,")
    click.echo("providers, schools (flask schools import-gias) and users.")


def init_app(app: Flask) -> None:
    """Every command group of the app, core and domains."""
    for group in (
        schools_cli,
        demo_cli,
        users_cli,
        providers_cli,
        jobs_cli,
        billing_cli,
        services_cli,
        supply_cli,
        rounds_cli,
        ocds_cli,
    ):
        app.cli.add_command(group)
    app.cli.add_command(setup_command)
