"""TEST ONLY: move a tender's whole timetable into the past.

A browser test gets past a bid deadline or a standstill without waiting by moving every date of
the tender (and of its bids, documents, clarifications, declarations and scores) some days
earlier, straight in the live server's database. Production code has no such command.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from procurement.tenders.models import (
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
from tests.support.live_database import live_database


def shift_tender_dates(database_url: str, tender_id: int, days: int, tmp_path: object) -> None:
    """Move tender `tender_id`'s dates `days` into the past, in the database at `database_url`."""
    with live_database(database_url, tmp_path):
        _shift(tender_id, days)


def _shift(tender_id: int, days: int) -> None:
    tender = db.session.get(Tender, tender_id)
    assert tender is not None, f"There is no tender {tender_id}."
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
