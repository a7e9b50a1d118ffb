"""Pledges follow the schools' approval rule, as orders do.

A pledge is a commitment to buy, so the rule for orders applies
(`marketplace.orders.rules.needs_approval`) to what the pledge could cost
(`procurement.rounds.rules.pledge_estimate_pence`): within the school's approval threshold it
is approved when the business manager makes it; above it, it waits for the head (budget
holder) to approve it before the pledge deadline. A pledge still waiting at the deadline takes
no part in the round's runs (`procurement.rounds.inputs.build_inputs`) and so gets no call-off.
Raising an approved pledge above what was approved asks the head again; lowering it keeps the
approval.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.models import Role, School, User
from app.money import format_pence
from app.time import utcnow
from app.use_case import use_case
from marketplace.offers.models import Offer
from marketplace.orders.rules import needs_approval
from procurement.rounds.access import audit_scope, lock_round
from procurement.rounds.errors import PledgeNotAllowed, PledgingClosed, RoundStateConflict
from procurement.rounds.estimates import request_refresh
from procurement.rounds.inputs import awaiting
from procurement.rounds.models import BuyingRound, Pledge, RoundOffer, RoundStatus
from procurement.rounds.rules import PriceList, pledge_estimate_pence


def price_lists(buying_round: BuyingRound) -> dict[int, list[PriceList]]:
    """The round's offers' price lists, by service id."""
    offers = db.session.scalars(
        sa.select(Offer)
        .join(RoundOffer, RoundOffer.offer_id == Offer.id)
        .where(RoundOffer.round_id == buying_round.id)
        .options(selectinload(Offer.tiers))
        .order_by(Offer.id)
    )
    found: dict[int, list[PriceList]] = defaultdict(list)
    for offer in offers:
        tiers = tuple((t.min_quantity, t.unit_price_pence) for t in offer.tiers)
        found[offer.service_id].append(PriceList(tiers, offer.setup_pence))
    return found


def settle_approval(
    pledge: Pledge,
    lists: list[PriceList],
    school: School,
    actor: User,
    now: datetime,
) -> None:
    """Estimate a new or changed pledge and decide whether it is approved or waits for the head."""
    was_approved_for = pledge.estimated_pence if pledge.approved_at is not None else None
    pledge.estimated_pence = pledge_estimate_pence(pledge.quantity, lists)
    if not needs_approval(pledge.estimated_pence, school.approval_threshold_pence):
        if pledge.approved_at is None:
            pledge.approved_at = now
            pledge.approved_by_id = actor.id
        return
    if was_approved_for is not None and pledge.estimated_pence <= was_approved_for:
        pledge.estimated_pence = was_approved_for  # still what the head approved
        return
    pledge.approved_at = None
    pledge.approved_by_id = None


def awaiting_in_open_rounds(school_id: int, now: datetime) -> list[Pledge]:
    """The school's pledges waiting for its head in rounds still taking pledges, soonest
    deadline first."""
    return list(
        db.session.scalars(
            sa.select(Pledge)
            .join(BuyingRound, BuyingRound.id == Pledge.round_id)
            .where(
                Pledge.school_id == school_id,
                Pledge.withdrawn_at.is_(None),
                Pledge.approved_at.is_(None),
                BuyingRound.status == RoundStatus.OPEN,
                BuyingRound.pledge_deadline_at > now,
            )
            .options(selectinload(Pledge.service), selectinload(Pledge.round))
            .order_by(BuyingRound.pledge_deadline_at, Pledge.id)
        )
    )


@use_case
def approve_pledges(
    round_id: int, school_id: int, actor: User, now: datetime | None = None
) -> list[Pledge]:
    """The head approves the school's pledges waiting for approval, before the deadline."""
    now = now or utcnow()
    if actor.role is not Role.HEAD or actor.school_id != school_id:
        raise PledgeNotAllowed(
            "Only your school’s head (budget holder) can approve its pledges; nothing was changed."
        )
    buying_round = lock_round(round_id, read=True)
    if not buying_round.accepts_pledges(now):
        raise PledgingClosed(
            "Pledging is closed for this round, so pledges can no longer be approved; pledges "
            "not approved by the deadline take no part. Nothing was changed."
        )
    pledges = awaiting(round_id, school_id)
    if not pledges:
        raise RoundStateConflict("No pledge of your school is waiting for approval.")
    for pledge in pledges:
        before = pledge.snapshot()
        pledge.approved_at = now
        pledge.approved_by_id = actor.id
        audit.record(
            actor,
            "pledge",
            pledge.id,
            "approved",
            before=before,
            after={
                **pledge.snapshot(),
                "note": f"Approved by the head for up to {format_pence(pledge.estimated_pence)}",
            },
            scope=audit_scope(round_id),
        )
    request_refresh(round_id)
    db.session.commit()
    return pledges
