"""Sealed bids: providers send, change, withdraw and re-confirm them before the deadline.

A bid is per lot: all-units volume tiers and capacity (the shape of an offer), an answer to
every question, and documents. The server's clock stamps its receipt. Until two committee
members open the bids, only the bidder can see anything of it; afterwards only evaluators who
declared no conflict of interest for its lot see its contents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.errors import NotAllowed
from app.extensions import db
from app.models import Role, User
from app.time import format_instant, utcnow
from app.use_case import use_case
from procurement.tenders.access import get_lot, locked_tender, record
from procurement.tenders.errors import (
    BiddingClosed,
    BidNotFound,
    ConflictOfInterest,
    InvalidBid,
    TenderNotFound,
)
from procurement.tenders.models import (
    BidStatus,
    Tender,
    TenderBid,
    TenderBidAnswer,
    TenderBidTier,
    TenderConflictDeclaration,
    TenderLot,
    TenderStatus,
)

MAX_TIERS = 5
ANSWER_MAX = 5_000
MAX_UNIT_PRICE_PENCE = 10_000_000  # £100,000 a unit
MAX_CAPACITY = 1_000_000


@dataclass(frozen=True)
class BidInput:
    capacity: int | None
    # (from quantity, unit price in pence), in any order; blank rows already left out.
    tiers: tuple[tuple[int, int], ...]
    answers: dict[int, str] = field(default_factory=dict)


def check_bid(lot: TenderLot, tender: Tender, data: BidInput) -> None:
    """Refuse a bid that cannot be evaluated, with the field to fix."""
    if data.capacity is None or not 1 <= data.capacity <= MAX_CAPACITY:
        raise InvalidBid(f"Capacity must be between 1 and {MAX_CAPACITY:,}", field="capacity")
    if not lot.multi_sourced and data.capacity < lot.expected_volume:
        raise InvalidBid(
            f"Lot {lot.number} goes to one provider, who must be able to deliver the whole "
            f"expected volume of {lot.expected_volume:,}: your capacity is {data.capacity:,}",
            field="capacity",
        )
    if not data.tiers:
        raise InvalidBid("Give at least one price", field="tiers")
    if len(data.tiers) > MAX_TIERS:
        raise InvalidBid(f"Give at most {MAX_TIERS} price tiers", field="tiers")
    quantities = [q for q, _ in data.tiers]
    if len(set(quantities)) != len(quantities):
        raise InvalidBid("Each price tier needs a different “from” quantity", field="tiers")
    if any(q < 0 for q in quantities):
        raise InvalidBid("“From” quantities cannot be negative", field="tiers")
    if min(quantities) > 1:
        raise InvalidBid(
            "Your first price must apply from 0 or 1 unit, so every volume has a price",
            field="tiers",
        )
    if any(not 1 <= p <= MAX_UNIT_PRICE_PENCE for _, p in data.tiers):
        raise InvalidBid("Each price must be between £0.01 and £100,000 a unit", field="tiers")
    for question in tender.questions:
        text = (data.answers.get(question.id) or "").strip()
        if not text:
            raise InvalidBid(f"Answer question {question.number}", field=f"answer-{question.id}")
        if len(text) > ANSWER_MAX:
            raise InvalidBid(
                f"Keep the answer to question {question.number} to {ANSWER_MAX:,} characters "
                "or fewer",
                field=f"answer-{question.id}",
            )
    unknown = set(data.answers) - {q.id for q in tender.questions}
    if unknown:
        raise InvalidBid("That question is not part of this tender", field="answers")


def require_bidding_open(tender: Tender, now: datetime) -> None:
    """Bids are sent, changed or withdrawn only while the tender is open, before its deadline."""
    if tender.status is TenderStatus.CANCELLED:
        raise BiddingClosed("This tender has been cancelled: it no longer takes bids.")
    if tender.status is TenderStatus.OPEN and now >= tender.deadline_at:
        raise BiddingClosed(
            f"The deadline for bids passed at {format_instant(tender.deadline_at)}: bids can no "
            "longer be sent, changed or withdrawn."
        )
    if tender.status is not TenderStatus.OPEN:
        raise BiddingClosed("This tender is not open for bids.")


def _provider_id(actor: User) -> int:
    if actor.role is not Role.PROVIDER or actor.provider_id is None:
        raise NotAllowed("Only providers send bids.")
    return actor.provider_id


def _bid_fields(bid: TenderBid) -> dict[str, Any]:
    """What the audit trail records of a bid: never its prices or answers."""
    return {
        "status": bid.status.value,
        "lot": bid.lot.number,
        "submitted_at": bid.submitted_at.isoformat() if bid.submitted_at else None,
    }


def own_bid(tender: Tender, bid_id: int, provider_id: int) -> TenderBid:
    """One of this provider's bids in this tender; any other bid does not exist for it."""
    bid = db.session.get(TenderBid, bid_id)
    if bid is None or bid.tender_id != tender.id or bid.provider_id != provider_id:
        raise BidNotFound()
    return bid


def own_bids(tender: Tender, provider_id: int) -> dict[int, TenderBid]:
    """This provider's bids in the tender, by lot id."""
    bids = db.session.scalars(
        sa.select(TenderBid)
        .where(TenderBid.tender_id == tender.id, TenderBid.provider_id == provider_id)
        .options(selectinload(TenderBid.tiers), selectinload(TenderBid.answers))
    )
    return {bid.lot_id: bid for bid in bids}


@use_case
def submit_bid(
    tender_id: int, lot_id: int, actor: User, data: BidInput, now: datetime | None = None
) -> TenderBid:
    """Send a bid for a lot, or replace this provider's bid for it; stamps the receipt time."""
    now = now or utcnow()
    provider_id = _provider_id(actor)
    tender = locked_tender(tender_id)
    if not tender.was_published:
        raise TenderNotFound("Page not found")
    lot = get_lot(tender, lot_id)
    require_bidding_open(tender, now)
    check_bid(lot, tender, data)
    bid = db.session.scalar(
        sa.select(TenderBid).where(TenderBid.lot_id == lot.id, TenderBid.provider_id == provider_id)
    )
    action = "bid changed"
    if bid is None:
        bid = TenderBid(tender_id=tender.id, lot=lot, provider_id=provider_id)
        db.session.add(bid)
        action = "bid submitted"
    bid.status = BidStatus.SUBMITTED
    bid.capacity = data.capacity  # type: ignore[assignment]
    bid.submitted_at = now
    bid.submitted_by_id = actor.id
    bid.needs_reconfirmation = False
    bid.reconfirmed_at = None
    bid.withdrawn_at = None
    if bid.id is not None:  # old tiers and answers go first: (bid, quantity) is unique
        bid.tiers.clear()
        bid.answers.clear()
        db.session.flush()
    bid.tiers = [TenderBidTier(min_quantity=q, unit_price_pence=p) for q, p in sorted(data.tiers)]
    bid.answers = [
        TenderBidAnswer(question_id=q.id, text=data.answers[q.id].strip()) for q in tender.questions
    ]
    db.session.flush()
    record(actor, tender, "tender_bid", bid.id, action, now, after=_bid_fields(bid))
    db.session.commit()
    return bid


@use_case
def withdraw_bid(
    tender_id: int, bid_id: int, actor: User, now: datetime | None = None
) -> TenderBid:
    """Take a bid back before the deadline (it can be sent again until then)."""
    now = now or utcnow()
    provider_id = _provider_id(actor)
    tender = locked_tender(tender_id)
    bid = own_bid(tender, bid_id, provider_id)
    require_bidding_open(tender, now)
    if bid.status is not BidStatus.SUBMITTED:
        raise BiddingClosed("This bid has already been withdrawn.")
    before = _bid_fields(bid)
    bid.status = BidStatus.WITHDRAWN
    bid.withdrawn_at = now
    record(
        actor,
        tender,
        "tender_bid",
        bid.id,
        "bid withdrawn",
        now,
        before=before,
        after=_bid_fields(bid),
    )
    db.session.commit()
    return bid


@use_case
def reconfirm_bid(
    tender_id: int, bid_id: int, actor: User, now: datetime | None = None
) -> TenderBid:
    """Confirm a bid still stands after the tender changed (before the deadline)."""
    now = now or utcnow()
    provider_id = _provider_id(actor)
    tender = locked_tender(tender_id)
    bid = own_bid(tender, bid_id, provider_id)
    require_bidding_open(tender, now)
    if bid.status is not BidStatus.SUBMITTED:
        raise BiddingClosed("A withdrawn bid cannot be re-confirmed: send it again instead.")
    if not bid.needs_reconfirmation:
        raise BiddingClosed("This bid does not need re-confirming.")
    missing = {q.id for q in tender.questions} - {a.question_id for a in bid.answers}
    if missing:
        raise InvalidBid(
            "The tender has a new question: change your bid to answer it, then send it again."
        )
    try:  # the lot may have changed too (e.g. a larger volume than the bid's capacity)
        check_bid(
            bid.lot,
            tender,
            BidInput(
                capacity=bid.capacity,
                tiers=tuple((t.min_quantity, t.unit_price_pence) for t in bid.tiers),
                answers={a.question_id: a.text for a in bid.answers},
            ),
        )
    except InvalidBid as exc:
        raise InvalidBid(
            f"Your bid no longer fits the changed tender: {exc.message}. Change the bid and "
            "send it again."
        ) from None
    bid.needs_reconfirmation = False
    bid.reconfirmed_at = now
    record(actor, tender, "tender_bid", bid.id, "bid re-confirmed", now, after=_bid_fields(bid))
    db.session.commit()
    return bid


def declaration_for(lot_id: int, user_id: int) -> TenderConflictDeclaration | None:
    return db.session.scalar(
        sa.select(TenderConflictDeclaration).where(
            TenderConflictDeclaration.lot_id == lot_id,
            TenderConflictDeclaration.evaluator_id == user_id,
        )
    )


def require_evaluator(tender: Tender, lot: TenderLot, user: User) -> None:
    """A committee member who declared no conflict for the lot, once the bids are opened."""
    if user.role is not Role.COMMITTEE or not tender.is_opened:
        raise BidNotFound()
    declaration = declaration_for(lot.id, user.id)
    if declaration is None:
        raise ConflictOfInterest(
            f"Declare your interests for lot {lot.number} before you see any of its bids."
        )
    if declaration.has_conflict:
        raise ConflictOfInterest(
            f"You declared a conflict of interest for lot {lot.number}: you cannot see or score "
            "its bids."
        )


def bid_for_viewer(tender: Tender, bid_id: int, user: User) -> TenderBid:
    """A bid whose contents this user may see: its bidder, or a conflict-free evaluator."""
    if user.role is Role.PROVIDER and user.provider_id is not None:
        return own_bid(tender, bid_id, user.provider_id)
    if user.role is not Role.COMMITTEE or not tender.is_opened:
        raise BidNotFound()
    bid = db.session.get(TenderBid, bid_id)
    if bid is None or bid.tender_id != tender.id:
        raise BidNotFound()
    require_evaluator(tender, bid.lot, user)
    return bid
