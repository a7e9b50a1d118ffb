"""Opening the bids after the deadline, compliance, and the start of evaluation.

Two different committee members confirm the opening; the second confirmation opens the bids
(a bid not re-confirmed after a change is disqualified then). Between opening and evaluation a
non-compliant bid is set aside with the reason, and its bidder told. Evaluation starts with the
valid bids fixed: a lot with fewer than the tender's minimum is unsuccessful (all of them: the
tender).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.time import format_instant, utcnow
from app.use_case import use_case
from procurement.tenders import ocds
from procurement.tenders.access import (
    locked_tender,
    notify_bidders,
    record,
    require_committee,
    tender_fields,
)
from procurement.tenders.changes import require_reason
from procurement.tenders.errors import OpeningRefused, TenderNotFound, TenderStateConflict
from procurement.tenders.models import (
    BidStatus,
    Tender,
    TenderBid,
    TenderOpeningConfirmation,
    TenderStage,
    TenderStatus,
)


@use_case
def confirm_opening(tender_id: int, actor: User, now: datetime | None = None) -> Tender:
    """One committee member confirms opening; the second, different, member opens the bids."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    stage = tender.stage(now)
    if stage is TenderStage.OPEN:
        raise OpeningRefused(
            f"Bids can be opened only after the deadline ({format_instant(tender.deadline_at)})."
        )
    if stage is not TenderStage.CLOSED:
        raise OpeningRefused(f"A tender at the “{stage.label}” stage cannot be opened.")
    confirmations = list(
        db.session.scalars(
            sa.select(TenderOpeningConfirmation).where(
                TenderOpeningConfirmation.tender_id == tender.id
            )
        )
    )
    if any(c.user_id == actor.id for c in confirmations):
        raise OpeningRefused(
            "You have already confirmed the opening: a second, different committee member "
            "must confirm it."
        )
    db.session.add(
        TenderOpeningConfirmation(tender_id=tender.id, user_id=actor.id, confirmed_at=now)
    )
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "opening confirmed",
        now,
        after={"confirmations": len(confirmations) + 1},
    )
    if confirmations:
        _open_bids(tender, actor, now)
    db.session.commit()
    return tender


def _open_bids(tender: Tender, actor: User, now: datetime) -> None:
    before = tender_fields(tender)
    tender.status = TenderStatus.OPENED
    tender.opened_at = now
    stale = list(
        db.session.scalars(
            sa.select(TenderBid).where(
                TenderBid.tender_id == tender.id,
                TenderBid.status == BidStatus.SUBMITTED,
                TenderBid.needs_reconfirmation.is_(True),
            )
        )
    )
    for bid in stale:
        bid.status = BidStatus.DISQUALIFIED
        bid.disqualified_reason = (
            "Not re-confirmed after the tender changed: the bid does not count."
        )
        record(
            None,
            tender,
            "tender_bid",
            bid.id,
            "disqualified",
            now,
            before={"status": BidStatus.SUBMITTED.value},
            after={"status": bid.status.value, "reason": bid.disqualified_reason},
        )
    record(
        actor,
        tender,
        "tender",
        tender.id,
        "bids opened",
        now,
        before=before,
        after=tender_fields(tender),
    )
    db.session.flush()
    ocds.record_release(tender, "tenderUpdate", now)


@use_case
def disqualify_bid(
    tender_id: int, bid_id: int, actor: User, reason: str, now: datetime | None = None
) -> TenderBid:
    """After opening and before evaluation: set a non-compliant bid aside, with the reason."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    if tender.status is not TenderStatus.OPENED:
        raise TenderStateConflict("Bids can be disqualified only between opening and evaluation.")
    bid = db.session.get(TenderBid, bid_id)
    if bid is None or bid.tender_id != tender.id:
        raise TenderNotFound("Page not found")
    if bid.status is not BidStatus.SUBMITTED:
        raise TenderStateConflict("Only a submitted bid can be disqualified.")
    reason = require_reason(reason, "Say why the bid is disqualified: the bidder is told")
    bid.status = BidStatus.DISQUALIFIED
    bid.disqualified_reason = reason
    notify_bidders(
        tender,
        now,
        f"Your bid for lot {bid.lot.number} of “{tender.title}” was disqualified: {reason}",
        provider_ids=[bid.provider_id],
    )
    record(
        actor,
        tender,
        "tender_bid",
        bid.id,
        "disqualified",
        now,
        before={"status": BidStatus.SUBMITTED.value},
        after={"status": bid.status.value, "reason": reason},
    )
    db.session.commit()
    return bid


@use_case
def start_evaluation(tender_id: int, actor: User, now: datetime | None = None) -> Tender:
    """Fix the valid bids; lots with fewer than the minimum are unsuccessful (all: the tender)."""
    now = now or utcnow()
    require_committee(actor)
    tender = locked_tender(tender_id)
    if tender.status is not TenderStatus.OPENED:
        raise TenderStateConflict("Evaluation starts once the bids are opened.")
    counts = {
        lot_id: count
        for lot_id, count in db.session.execute(
            sa.select(TenderBid.lot_id, sa.func.count())
            .where(TenderBid.tender_id == tender.id, TenderBid.status == BidStatus.SUBMITTED)
            .group_by(TenderBid.lot_id)
        )
    }
    before = tender_fields(tender)
    for lot in tender.lots:
        if counts.get(lot.id, 0) < tender.min_valid_bids:
            lot.unsuccessful = True
            record(
                actor,
                tender,
                "tender_lot",
                lot.id,
                "lot unsuccessful",
                now,
                after={"valid_bids": counts.get(lot.id, 0), "minimum": tender.min_valid_bids},
            )
    if all(lot.unsuccessful for lot in tender.lots):
        tender.status = TenderStatus.UNSUCCESSFUL
        tender.unsuccessful_at = now
        notify_bidders(
            tender,
            now,
            f"“{tender.title}” was unsuccessful: fewer valid bids than the minimum of "
            f"{tender.min_valid_bids} were received, so no contract will be awarded.",
        )
        action = "unsuccessful"
    else:
        tender.status = TenderStatus.EVALUATION
        tender.evaluation_started_at = now
        action = "evaluation started"
    record(
        actor, tender, "tender", tender.id, action, now, before=before, after=tender_fields(tender)
    )
    db.session.flush()
    ocds.record_release(tender, "tenderUpdate", now)
    db.session.commit()
    return tender
