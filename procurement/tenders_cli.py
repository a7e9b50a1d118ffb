"""Command line: `flask ocds export [--tender ID]`, and one clearly test-only command.

`flask tenders testing-shift-dates` exists only when POOLED_TESTING_COMMANDS=1 is set in the
environment: it moves a tender's whole timetable into the past so a browser test can get past
a deadline or a standstill without waiting. It is never registered for real use.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from app.errors import DomainError
from app.extensions import db
from app.types import utcnow
from procurement import ocds
from procurement.tender_models import (
    Tender,
    TenderAmendment,
    TenderBid,
    TenderClarification,
    TenderConflictDeclaration,
    TenderDocument,
    TenderLot,
    TenderOpeningConfirmation,
    TenderScore,
)

TESTING_FLAG = "POOLED_TESTING_COMMANDS"

ocds_cli = AppGroup("ocds", help="Open Contracting Data Standard notices.")
testing_cli = AppGroup("tenders", help="Test-only tender tools (POOLED_TESTING_COMMANDS=1).")


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


@testing_cli.command("testing-shift-dates")
@click.option("--tender", "tender_id", type=int, required=True)
@click.option("--days", type=int, required=True, help="Move every date this many days earlier.")
def shift_dates_command(tender_id: int, days: int) -> None:
    """TEST ONLY: move a tender's deadline, opening, award and standstill `days` into the past."""
    tender = db.session.get(Tender, tender_id)
    if tender is None:
        raise click.ClickException(f"There is no tender {tender_id}.")
    delta = timedelta(days=days)
    for name in (
        "created_at",
        "published_at",
        "deadline_at",
        "opened_at",
        "evaluation_started_at",
        "award_decided_at",
        "contracted_at",
        "completed_at",
        "cancelled_at",
        "unsuccessful_at",
    ):
        value = getattr(tender, name)
        if value is not None:
            setattr(tender, name, value - delta)
    if tender.standstill_ends_on is not None:
        tender.standstill_ends_on -= delta
    for model, columns in (
        (TenderBid, ("submitted_at", "reconfirmed_at", "withdrawn_at")),
        (TenderDocument, ("uploaded_at",)),
        (TenderClarification, ("asked_at", "answered_at")),
        (TenderAmendment, ("at", "deadline_before", "deadline_after")),
        (TenderOpeningConfirmation, ("confirmed_at",)),
    ):
        for row in db.session.scalars(sa.select(model).where(model.tender_id == tender.id)):
            for column in columns:
                value = getattr(row, column)
                if value is not None:
                    setattr(row, column, value - delta)
    lot_ids = [lot.id for lot in tender.lots]
    for row in db.session.scalars(
        sa.select(TenderConflictDeclaration).where(TenderConflictDeclaration.lot_id.in_(lot_ids))
    ):
        row.declared_at -= delta
    for row in db.session.scalars(
        sa.select(TenderScore)
        .join(TenderBid, TenderBid.id == TenderScore.bid_id)
        .where(TenderBid.tender_id == tender.id)
    ):
        row.scored_at -= delta
    for lot in db.session.scalars(sa.select(TenderLot).where(TenderLot.tender_id == tender.id)):
        if lot.moderated_at is not None:
            lot.moderated_at -= delta
    db.session.commit()
    click.echo(f"TEST ONLY: tender {tender_id} moved {days} days into the past.")


def init_app(app: Flask) -> None:
    app.cli.add_command(ocds_cli)
    if os.environ.get(TESTING_FLAG, "").strip() == "1":
        app.cli.add_command(testing_cli)
