"""The demo's ratings: schools rate delivered work of the demo provider (West London
Counselling Collective), enough for its counselling offer's average to show, and the provider
replies to one; a few other deliveries are rated too. Made by the ratings use cases, after
the term's orders (activity.py) and the supply service (supply.py).

Safe to run twice: it does nothing once any rating exists.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from app.calendar import Term
from app.demo.accounts import DEMO_PROVIDER
from app.demo.activity import PO_PREFIX, _head_like, _sbm_like, _second_approver
from app.errors import DomainError
from app.extensions import db
from app.models import Provider, Role, School, User
from marketplace.offers.models import Offer, OfferStatus
from marketplace.orders import acceptance, decisions, drafting
from marketplace.orders.models import Order, OrderStatus
from marketplace.ratings import services as ratings
from marketplace.ratings.models import Rating
from marketplace.supply.models import Timesheet, TimesheetStatus

# Enough for the offer's averages to show (rules.SHOWN_FROM is 3), and a little more.
RATED_ON_ONE_OFFER = 4
# (quality, timeliness, communication, comment), the first answered by the provider.
SCRIPT = [
    (
        5,
        4,
        5,
        "The counsellor built trust with our Year 6 group quickly; sessions started a week late "
        "but the notes to the pastoral lead were excellent.",
    ),
    (4, 4, 3, "Good sessions. We had to chase for the termly summary."),
    (5, 5, 5, "Reliable, flexible about rooms, and the pupils ask for her by name."),
    (3, 4, 4, ""),
    (4, 5, 4, "Clear reports, on time."),
]
REPLY = (
    "Thank you. The late start was a vetting delay on our side; from January every new "
    "counsellor is cleared before the first booked session."
)
OTHER_RATINGS = 3
DELIVERED = (OrderStatus.DELIVERED, OrderStatus.INVOICED)


def seed_demo_ratings(today: date) -> dict[str, int]:
    """Ratings of the demo's delivered work and one reply; {} when already seeded."""
    if db.session.scalar(sa.select(Rating.id).limit(1)) is not None:
        return {}
    provider = db.session.scalar(sa.select(Provider).where(Provider.name == DEMO_PROVIDER))
    if provider is None:
        return {}
    offer = db.session.scalar(
        sa.select(Offer)
        .where(Offer.provider_id == provider.id, Offer.status == OfferStatus.LIVE)
        .order_by(Offer.id)
    )
    if offer is None:
        return {}
    replier = db.session.scalar(
        sa.select(User)
        .where(User.provider_id == provider.id, User.role == Role.PROVIDER)
        .order_by(User.id)
    )
    orders = _delivered(Order.offer_id == offer.id)
    if len(orders) < RATED_ON_ONE_OFFER and replier is not None:
        taken = {o.school_id for o in orders}
        _deliver_more(offer, RATED_ON_ONE_OFFER - len(orders), today, taken, replier)
        orders = _delivered(Order.offer_id == offer.id)
    made = 0
    first: Rating | None = None
    for order, (quality, timeliness, communication, comment) in zip(
        orders[:RATED_ON_ONE_OFFER], SCRIPT, strict=False
    ):
        rating = _rate(order, quality, timeliness, communication, comment)
        if rating is not None:
            first = first or rating
            made += 1
    replies = 0
    if first is not None and replier is not None:
        ratings.reply(first.id, provider.id, REPLY, replier)
        replies = 1
    for order, (quality, timeliness, communication, comment) in zip(
        _delivered(Order.offer_id != offer.id)[:OTHER_RATINGS],
        reversed(SCRIPT),
        strict=False,
    ):
        made += _rate(order, quality, timeliness, communication, comment) is not None
    made += _rate_a_supply_week()
    return {"ratings": made, "rating replies": replies}


def _delivered(*conditions: sa.ColumnElement[bool]) -> list[Order]:
    return list(
        db.session.scalars(
            sa.select(Order)
            .where(Order.po_number.like(f"{PO_PREFIX}%"), Order.status.in_(DELIVERED), *conditions)
            .order_by(Order.id)
        )
    )


def _rate(
    order: Order, quality: int, timeliness: int, communication: int, comment: str
) -> Rating | None:
    school = db.session.get(School, order.school_id)
    assert school is not None
    try:
        return ratings.rate_order(
            order.id,
            school.id,
            ratings.RatingInput(quality, timeliness, communication, comment),
            _sbm_like(school),
        )
    except DomainError:
        return None


def _rate_a_supply_week() -> int:
    """The first approved supply week, rated by its school."""
    sheet = db.session.scalar(
        sa.select(Timesheet)
        .where(Timesheet.status == TimesheetStatus.APPROVED)
        .order_by(Timesheet.id)
    )
    if sheet is None:
        return 0
    school = db.session.get(School, sheet.school_id)
    assert school is not None
    try:
        ratings.rate_timesheet(
            sheet.id,
            school.id,
            ratings.RatingInput(4, 5, 4, "Arrived early and left good notes for the class."),
            _sbm_like(school),
        )
    except DomainError:
        return 0
    return 1


def _deliver_more(
    offer: Offer, needed: int, today: date, taken: set[int], provider_user: User
) -> None:
    """Counselling this term for schools that had none, ordered before the term began and
    delivered, as the term's other orders were (activity.py), so there is work to rate."""
    term = Term.containing(today)
    if today < term.starts_on:
        return
    placed_on = term.starts_on - timedelta(days=30)
    schools = db.session.scalars(
        sa.select(School)
        .where(School.is_member.is_(True), School.id.not_in(taken or {0}))
        .order_by(School.urn)
    )
    for school in schools:
        if needed <= 0:
            return
        sbm = _sbm_like(school)
        try:
            order = drafting.create_draft(
                school_id=school.id,
                offer_id=offer.id,
                term_key=term.key,
                quantity=4,
                po_number=f"{PO_PREFIX}{school.urn}-RATED",
                actor=sbm,
                today=placed_on,
            )
            order = drafting.submit(order.id, school.id, sbm, today=placed_on)
            if order.status is OrderStatus.SUBMITTED:
                decisions.approve(order.id, school.id, _head_like(school))
            if order.status is OrderStatus.SUBMITTED:
                decisions.approve(order.id, school.id, _second_approver(school))
            order.created_at = order.submitted_at = datetime.combine(
                placed_on, time(10), tzinfo=UTC
            )
            decisions.confirm(order.id, offer.provider_id, provider_user)
            decisions.deliver(order.id, offer.provider_id, provider_user, today=today)
            acceptance.confirm_receipt(order.id, school.id, sbm)
        except DomainError:
            db.session.rollback()
            continue
        needed -= 1
