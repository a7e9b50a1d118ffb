"""Schools' pledges: what a school pledged, the pool per lot, and pledging, changing and
withdrawing before the deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.models import Role, School, User
from app.time import format_instant, utcnow
from app.use_case import use_case
from marketplace.orders.models import ORDER_CLOSED_STATUSES, Order
from procurement.rounds.access import audit_scope, lock_round
from procurement.rounds.approvals import price_lists, settle_approval
from procurement.rounds.errors import (
    PledgeNotAllowed,
    PledgingClosed,
    RoundError,
    RoundNotFound,
    RoundStateConflict,
)
from procurement.rounds.estimates import request_refresh
from procurement.rounds.lots import Lot, lots, step_problem
from procurement.rounds.models import BuyingRound, Pledge, RoundStatus

MAX_PLEDGE = 10_000  # units of one service in one term: more is a typing mistake
PO_NUMBER_MAX = 60


def pledges_for_school(round_id: int, school_id: int) -> dict[tuple[int, str], Pledge]:
    """The school's pledges in the round (withdrawn ones too), by (service id, term key)."""
    rows = db.session.scalars(
        sa.select(Pledge).where(Pledge.round_id == round_id, Pledge.school_id == school_id)
    )
    return {(p.service_id, p.term_key): p for p in rows}


@dataclass(frozen=True)
class LotTotal:
    lot: Lot
    schools: int
    units: int


def pledge_totals(buying_round: BuyingRound) -> list[LotTotal]:
    """Schools pledging and units pledged per lot (active pledges), counted in SQL."""
    rows = db.session.execute(
        sa.select(Pledge.service_id, Pledge.term_key, sa.func.count(), sa.func.sum(Pledge.quantity))
        .where(Pledge.round_id == buying_round.id, Pledge.withdrawn_at.is_(None))
        .group_by(Pledge.service_id, Pledge.term_key)
    )
    counts = {(s, t): (n, int(q or 0)) for s, t, n, q in rows}
    return [
        LotTotal(lot, *counts.get((lot.service.id, lot.term.key), (0, 0)))
        for lot in lots(buying_round)
    ]


@dataclass(frozen=True)
class OrderOverlap:
    """A school's order that a pledge in the round would come on top of."""

    order_id: int
    lot: Lot
    provider_name: str
    quantity: int
    unit_price_pence: int


def orders_overlapping(buying_round: BuyingRound, school_id: int) -> list[OrderOverlap]:
    """The school's orders (not cancelled, declined or rejected) for one of the round's services
    in one of its terms from a provider with an offer in the round: a pledge would buy the same
    thing again, so the pledge form warns of them."""
    by_key = {(lot.service.id, lot.term.key): lot for lot in lots(buying_round)}
    providers = {round_offer.offer.provider_id for round_offer in buying_round.offers}
    if not by_key or not providers:
        return []
    orders = db.session.scalars(
        sa.select(Order)
        .where(
            Order.school_id == school_id,
            Order.service_id.in_({service_id for service_id, _ in by_key}),
            Order.term_key.in_(buying_round.term_keys),
            Order.provider_id.in_(providers),
            Order.status.not_in(ORDER_CLOSED_STATUSES),
        )
        .options(selectinload(Order.provider))
        .order_by(Order.id)
    )
    return [
        OrderOverlap(
            order.id,
            by_key[(order.service_id, order.term_key)],
            order.provider.name,
            order.quantity,
            order.unit_price_pence,
        )
        for order in orders
        if (order.service_id, order.term_key) in by_key
    ]


def _pledging_closed(buying_round: BuyingRound, now: datetime) -> PledgingClosed:
    if buying_round.status is RoundStatus.CANCELLED:
        return PledgingClosed("This round was cancelled; nothing was changed.")
    return PledgingClosed(
        f"Pledging closed on {format_instant(min(buying_round.pledge_deadline_at, now))}, so "
        "pledges can no longer be made, changed or withdrawn; nothing was changed."
    )


def _check_pledger(school_id: int, actor: User) -> None:
    if actor.role is not Role.SBM:
        raise PledgeNotAllowed(
            "Only a school business manager can pledge for a school; nothing was changed."
        )
    if actor.school_id != school_id:
        raise PledgeNotAllowed("You can pledge only for your own school; nothing was changed.")


@dataclass(frozen=True)
class PledgeChanges:
    added: int = 0
    changed: int = 0
    withdrawn: int = 0

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.withdrawn)


@use_case
def save_pledges(
    round_id: int,
    school_id: int,
    quantities: Mapping[tuple[int, str], int | None],
    actor: User,
    now: datetime | None = None,
    po_number: str | None = None,
) -> PledgeChanges:
    """Set the school's pledge for each lot: a positive quantity pledges, 0 or blank withdraws.

    Each new or raised pledge is estimated and approved at once when within the school's
    approval threshold, or left waiting for the head (procurement.rounds.approvals). A
    purchase-order number, when given, goes on every active pledge of the school in the round
    and from there onto its call-off orders.
    """
    now = now or utcnow()
    _check_pledger(school_id, actor)
    po = None if po_number is None else " ".join(po_number.split())
    if po is not None and len(po) > PO_NUMBER_MAX:
        raise RoundError(
            f"The purchase-order number must be {PO_NUMBER_MAX} characters or fewer",
            field="po_number",
        )
    buying_round = lock_round(round_id, read=True)
    if buying_round.status is RoundStatus.DRAFT:
        raise RoundNotFound("There is no such buying round.")
    if not buying_round.accepts_pledges(now):
        raise _pledging_closed(buying_round, now)
    by_key = {(lot.service.id, lot.term.key): lot for lot in lots(buying_round)}
    for key, quantity in quantities.items():
        lot = by_key.get(key)
        if lot is None:
            raise RoundError("You can pledge only for the round’s services and terms.")
        if quantity is None:
            continue
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise RoundError(
                f"Enter the {lot.label} pledge as a whole number, like 5", field=lot.key
            )
        if quantity < 0:
            raise RoundError(f"The {lot.label} pledge cannot be negative", field=lot.key)
        if quantity > MAX_PLEDGE:
            raise RoundError(
                f"The {lot.label} pledge must be {MAX_PLEDGE:,} or fewer", field=lot.key
            )
        problem = step_problem(lot, quantity)
        if problem:
            raise RoundError(problem, field=lot.key)
    existing = pledges_for_school(round_id, school_id)
    school = db.session.get(School, school_id)
    assert school is not None
    lists = price_lists(buying_round)
    added = changed = withdrawn = 0
    for key, quantity in sorted(quantities.items()):
        pledge = existing.get(key)
        wanted = quantity or 0
        if wanted == 0:
            if pledge is not None and pledge.active:
                before = pledge.snapshot()
                pledge.withdrawn_at = now
                pledge.updated_by_id = actor.id
                _record_pledge(actor, pledge, "withdrawn", before)
                withdrawn += 1
            continue
        if pledge is None:
            pledge = Pledge(
                round_id=round_id,
                school_id=school_id,
                service_id=key[0],
                term_key=key[1],
                quantity=wanted,
                po_number=po or "",
                created_by_id=actor.id,
                updated_by_id=actor.id,
            )
            settle_approval(pledge, lists[key[0]], school, actor, now)
            db.session.add(pledge)
            db.session.flush()
            _record_pledge(actor, pledge, "pledged", None)
            added += 1
        elif not pledge.active or pledge.quantity != wanted:
            before = pledge.snapshot()
            was_active = pledge.active
            pledge.quantity = wanted
            pledge.withdrawn_at = None
            pledge.updated_by_id = actor.id
            if not was_active:
                pledge.approved_at = None  # a pledge made again is a new commitment
            settle_approval(pledge, lists[key[0]], school, actor, now)
            _record_pledge(actor, pledge, "changed" if was_active else "pledged again", before)
            if was_active:
                changed += 1
            else:
                added += 1
    if po is not None:
        for pledge in pledges_for_school(round_id, school_id).values():
            if pledge.active and pledge.po_number != po:
                before = pledge.snapshot()
                pledge.po_number = po
                pledge.updated_by_id = actor.id
                _record_pledge(actor, pledge, "purchase order given", before)
                changed += 1
    request_refresh(round_id)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise RoundStateConflict(
            "Your school’s pledge was changed at the same moment somewhere else; check it and "
            "save again."
        ) from None
    return PledgeChanges(added, changed, withdrawn)


def _record_pledge(actor: User, pledge: Pledge, action: str, before: dict | None) -> None:
    audit.record(
        actor,
        "pledge",
        pledge.id,
        action,
        before=before,
        after=pledge.snapshot(),
        scope=audit_scope(pledge.round_id),
    )


@use_case
def withdraw_pledges(
    round_id: int, school_id: int, actor: User, now: datetime | None = None
) -> PledgeChanges:
    """Withdraw every pledge the school has in the round (before the deadline)."""
    existing = pledges_for_school(round_id, school_id)
    return save_pledges(round_id, school_id, dict.fromkeys(existing, 0), actor, now)
