"""After delivery: the school confirms receipt or raises a dispute; the office resolves disputes.

delivered → accepted: the school's SBM or head confirms receipt, or nobody disputes it within
DELIVERY_DISPUTE_WORKING_DAYS London working days (default 5) of the day delivery was recorded
(`Order.acceptance_due_on`) and it is deemed accepted when billing next runs. Only accepted
deliveries are billed (`billable`). A disputed delivery waits for the partnership office, which
accepts it (it is then billed) or cancels the order (no charge; its capacity is released).
Every change writes an audit event in the same transaction; each use case commits once.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import SCHOOL_ROLES, Role, User
from app.time import london_today, utcnow
from app.use_case import use_case
from marketplace.orders.access import get_order_for_school, record
from marketplace.orders.capacity import release_capacity
from marketplace.orders.errors import InvalidOrder, OrderNotFound, OrderStateConflict
from marketplace.orders.models import Order, OrderStatus

DEFAULT_DISPUTE_WORKING_DAYS = 5
REASON_MAX = 500


def dispute_working_days() -> int:
    """DELIVERY_DISPUTE_WORKING_DAYS from the app's config (default 5)."""
    value = int(
        current_app.config.get("DELIVERY_DISPUTE_WORKING_DAYS", DEFAULT_DISPUTE_WORKING_DAYS)
    )
    if not 0 <= value <= 60:
        raise ValueError("DELIVERY_DISPUTE_WORKING_DAYS must be between 0 and 60")
    return value


def billable(as_of: date) -> sa.ColumnElement[bool]:
    """SQL: the delivery is accepted, or undisputed with its window over on `as_of`
    (marketplace.orders.rules.deemed_accepted)."""
    return sa.or_(
        Order.accepted_at.is_not(None),
        sa.and_(Order.disputed_at.is_(None), Order.acceptance_due_on < as_of),
    )


def _delivered(order: Order, doing: str) -> None:
    if order.status is not OrderStatus.DELIVERED:
        raise OrderStateConflict(
            f"Order {order.id} is not waiting for your confirmation, so it cannot be {doing}."
        )
    if order.accepted_at is not None:
        raise OrderStateConflict(
            f"Receipt of order {order.id} is already confirmed; nothing was changed."
        )


def _check_school_user(actor: User) -> None:
    if actor.role not in SCHOOL_ROLES:
        raise OrderStateConflict("Only the school’s business manager or head can do this.")


@use_case
def confirm_receipt(order_id: int, school_id: int, actor: User) -> Order:
    """The school confirms it received what was delivered; the order can then be billed.

    Also ends the school's own dispute, if it raised one.
    """
    _check_school_user(actor)
    order = get_order_for_school(order_id, school_id, lock=True)
    _delivered(order, "confirmed as received")
    before = order.snapshot()
    order.accepted_at = utcnow()
    order.accepted_by_id = actor.id
    record(actor, order, "receipt confirmed", before)
    db.session.commit()
    return order


@use_case
def dispute(
    order_id: int, school_id: int, actor: User, reason: str | None, *, today: date | None = None
) -> Order:
    """The school disputes a delivery within its window, saying why; billing then waits."""
    _check_school_user(actor)
    order = get_order_for_school(order_id, school_id, lock=True)
    _delivered(order, "disputed")
    if order.disputed_at is not None:
        raise OrderStateConflict(f"Order {order.id} is already disputed; nothing was changed.")
    today = today or london_today()
    if order.acceptance_due_on is not None and today > order.acceptance_due_on:
        raise OrderStateConflict(
            f"Disputes for order {order.id} were open until "
            f"{order.acceptance_due_on:%-d %B %Y}; it is now accepted. Contact the partnership "
            "office."
        )
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidOrder("Say what is wrong with the delivery", field="reason")
    if len(text) > REASON_MAX:
        raise InvalidOrder(f"The reason must be {REASON_MAX} characters or fewer", field="reason")
    before = order.snapshot()
    order.disputed_at = utcnow()
    order.disputed_by_id = actor.id
    order.dispute_reason = text
    record(actor, order, "disputed", before, reason=text)
    db.session.commit()
    return order


def open_disputes() -> list[Order]:
    """Every delivery disputed and not yet resolved, oldest dispute first (for the office)."""
    return list(
        db.session.scalars(
            sa.select(Order)
            .where(
                Order.status == OrderStatus.DELIVERED,
                Order.disputed_at.is_not(None),
                Order.accepted_at.is_(None),
            )
            .options(
                selectinload(Order.school),
                selectinload(Order.provider),
                selectinload(Order.service),
            )
            .order_by(Order.disputed_at, Order.id)
        )
    )


def _disputed_order(order_id: int, actor: User) -> Order:
    if actor.role is not Role.ADMIN:
        raise OrderStateConflict("Only the partnership office resolves disputes.")
    order = db.session.scalar(
        sa.select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise OrderNotFound("There is no such order.")
    if not order.dispute_open:
        raise OrderStateConflict(
            f"Order {order.id} has no open dispute (it may have just been resolved); "
            "nothing was changed."
        )
    return order


@use_case
def resolve_by_accepting(order_id: int, actor: User, note: str | None = "") -> Order:
    """The office finds the delivery good after all: it is accepted and billed."""
    order = _disputed_order(order_id, actor)
    before = order.snapshot()
    order.accepted_at = utcnow()
    order.accepted_by_id = actor.id
    record(actor, order, "dispute resolved", before, outcome="accepted", note=(note or "")[:500])
    db.session.commit()
    return order


@use_case
def resolve_by_cancelling(order_id: int, actor: User, note: str | None = "") -> Order:
    """The office upholds the dispute: the order is cancelled with no charge, never billed."""
    order = _disputed_order(order_id, actor)
    before = order.snapshot()
    if order.offer_id is not None:
        release_capacity(order.offer_id, order.term_key, order.quantity)
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = utcnow()
    order.cancellation_charge_pence = 0
    record(actor, order, "dispute resolved", before, outcome="cancelled", note=(note or "")[:500])
    db.session.commit()
    return order
