"""Who hears about an order: its approvers when it waits for a step of the school's chain,
and the person who placed it when it is approved, rejected, confirmed, declined or delivered."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Role, School, User
from app.money import format_pence
from app.notifications.rendering import link
from app.notifications.services import notify
from marketplace.orders.labels import STATUS_TEXT
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.rules import ApprovalStep

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


# Who hears that an order waits for each step of its school's approval chain.
STEP_AUDIENCE = {
    ApprovalStep.HEAD: (Role.HEAD,),
    ApprovalStep.SECOND: (Role.GOVERNOR, Role.HEAD),
}


def order_awaiting_approval(order: Order, step: ApprovalStep = ApprovalStep.HEAD) -> None:
    """An order over the school's threshold waits for the next step of its chain: the head(s)
    hear of the first step; of the second, the school's second approvers, its other heads and
    its trust's finance leads. Anyone who already approved it is left out. (A trust's finance
    lead sees every order waiting at its schools on their home page.)"""
    school = db.session.get(School, order.school_id)
    assert school is not None
    audience = sa.and_(User.school_id == order.school_id, User.role.in_(STEP_AUDIENCE[step]))
    if step is ApprovalStep.SECOND and school.trust_id is not None:
        trust = sa.and_(User.trust_id == school.trust_id, User.role == Role.TRUST)
        audience = sa.or_(audience, trust)
    done = [a.approver_id for a in order.approvals]
    approvers = db.session.scalars(
        sa.select(User).where(audience, User.id.not_in(done)).order_by(User.id)
    ).all()
    number = 1 if step is ApprovalStep.HEAD else 2
    notify(
        "order_awaiting_approval",
        approvers,
        event=f"order-{order.id}-submitted" if number == 1 else f"order-{order.id}-step-{number}",
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
