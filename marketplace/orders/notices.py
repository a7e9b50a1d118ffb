"""Who hears about an order: the budget holders when one waits for approval, and the person
who placed it when it is approved, rejected, confirmed, declined or delivered."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Role, User
from app.money import format_pence
from app.notifications.rendering import link
from app.notifications.services import notify
from marketplace.orders.labels import STATUS_TEXT
from marketplace.orders.models import Order, OrderStatus

# What each decision means; its word is the status's in the one vocabulary (labels.py).
DECISIONS = {
    OrderStatus.APPROVED: "The budget holder approved it. The provider will now confirm it.",
    OrderStatus.REJECTED: "The budget holder turned it down.",
    OrderStatus.CONFIRMED: "The provider has accepted it.",
    OrderStatus.DECLINED: "The provider cannot take it on.",
    OrderStatus.DELIVERED: "The provider has recorded it as delivered. It will be invoiced.",
}


def _what(order: Order) -> str:
    return f"{order.quantity} × {order.service.name} from {order.provider.name}"


def order_awaiting_approval(order: Order) -> None:
    """An order over the school's threshold waits for its budget holder(s)."""
    heads = db.session.scalars(
        sa.select(User)
        .where(User.school_id == order.school_id, User.role == Role.HEAD)
        .order_by(User.id)
    ).all()
    notify(
        "order_awaiting_approval",
        heads,
        event=f"order-{order.id}-submitted",
        template="order_awaiting_approval",
        subject=f"Order {order.id} is waiting for your approval",
        link=link("marketplace.order_detail", order_id=order.id),
        about=("order", order.id),
        summary=f"{_what(order)}, {format_pence(order.total_pence)}",
        order=order,
        what=_what(order),
        total=format_pence(order.total_pence),
        placed_by=order.created_by.name if order.created_by else "Your school",
    )


def order_decided(order: Order, decision: str, reason: str = "") -> None:
    """Tell the person who placed the order what became of it."""
    if order.created_by is None:
        return
    status = OrderStatus(decision)
    word, meaning = STATUS_TEXT[status].lower(), DECISIONS[status]
    notify(
        "order_decided",
        [order.created_by],
        event=f"order-{order.id}-{decision}",
        template="order_decided",
        subject=f"Order {order.id} has been {word}",
        link=link("marketplace.order_detail", order_id=order.id),
        about=("order", order.id),
        summary=f"{_what(order)}" + (f". Reason: {reason}" if reason else ""),
        order=order,
        word=word,
        meaning=meaning,
        reason=reason,
        what=_what(order),
        total=format_pence(order.total_pence),
    )
