"""A school's approval chain: reading it for an order, the steps an order has been given, and
the head (or trust) setting it. The rule itself is marketplace.orders.rules.approvals_needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.errors import NotFound
from app.extensions import db
from app.models import Role, School, User
from app.use_case import use_case
from marketplace.orders import rules
from marketplace.orders.access import approver_scope
from marketplace.orders.errors import InvalidApprovalChain
from marketplace.orders.models import Order, OrderApproval, OrderStatus


def chain_of(school: School) -> rules.ApprovalChain:
    """The school's approval chain as the pure rule takes it."""
    return rules.ApprovalChain(school.approval_threshold_pence, school.second_approval_pence)


def steps_for(order: Order) -> tuple[rules.ApprovalStep, ...]:
    """The approvals this order needs under its school's chain today."""
    return rules.approvals_needed(order.total_pence, chain_of(order.school))


@dataclass(frozen=True)
class StepView:
    """One step of an order's chain as the order page shows it."""

    number: int
    step: rules.ApprovalStep
    approval: OrderApproval | None


def chain_view(order: Order) -> list[StepView]:
    """Each step the order needs, with who gave it (when given). Steps given are kept even if
    the school's chain has since changed."""
    given = {a.step: a for a in order.approvals}
    needed = steps_for(order)
    count = max(len(needed), max(given, default=0))
    if order.status is OrderStatus.SUBMITTED:
        count = max(count, upcoming(order)[0])
    views = []
    for number in range(1, count + 1):
        if number <= len(needed):
            step = needed[number - 1]
        else:
            step = rules.ApprovalStep.HEAD if number == 1 else rules.ApprovalStep.SECOND
        views.append(StepView(number, step, given.get(number)))
    return views


def upcoming(order: Order) -> tuple[int, rules.ApprovalStep]:
    """The number and step of the order's next approval. An order still waiting after its
    school raised the threshold past it takes one approval: the head's."""
    return rules.next_step(steps_for(order), len(order.approvals)) or (
        len(order.approvals) + 1,
        rules.ApprovalStep.HEAD,
    )


def approval_problem(order: Order, user: User) -> str | None:
    """Why this person cannot give the order's next approval (None when they can). The
    caller has already scoped the order to a school the person approves for."""
    if order.status is not OrderStatus.SUBMITTED:
        return "This order is not waiting for approval."
    _number, step = upcoming(order)
    return rules.approver_problem(
        step,
        role=user.role.value,
        approver_id=user.id,
        earlier_approver_ids=[a.approver_id for a in order.approvals],
    )


def waiting_for(user: User) -> list[Order]:
    """Orders waiting for this person's approval (their next step is one they may give),
    oldest submitted first."""
    scope = approver_scope(user)
    if scope is None:
        return []
    orders = db.session.scalars(
        sa.select(Order)
        .where(scope, Order.status == OrderStatus.SUBMITTED)
        .options(
            selectinload(Order.approvals),
            selectinload(Order.school),
            selectinload(Order.service),
            selectinload(Order.provider),
        )
        .order_by(Order.submitted_at, Order.id)
    )
    return [order for order in orders if approval_problem(order, user) is None]


def may_set_chain(user: User, school: School) -> bool:
    """The school's head sets its chain; so may its trust's finance lead and the partnership
    admin."""
    if user.role is Role.ADMIN:
        return True
    if user.role is Role.HEAD:
        return user.school_id == school.id
    if user.role is Role.TRUST:
        return user.trust_id is not None and user.trust_id == school.trust_id
    return False


def get_school_for_chain(school_id: int, user: User) -> School:
    """A school whose chain this person may set (404 for any other)."""
    school = db.session.get(School, school_id)
    if school is None or not may_set_chain(user, school):
        raise NotFound("There is no such school.")
    return school


@use_case
def set_chain(
    school_id: int, actor: User, *, threshold_pounds: int | None, second_pounds: int | None
) -> School:
    """The head (or trust, or admin) sets the school's approval chain in whole pounds; no
    second step when `second_pounds` is None."""
    school = get_school_for_chain(school_id, actor)
    problems = rules.chain_problems(threshold_pounds, second_pounds)
    if problems:
        raise InvalidApprovalChain(problems)
    assert threshold_pounds is not None
    before = {
        "approval_threshold_pence": school.approval_threshold_pence,
        "second_approval_pence": school.second_approval_pence,
    }
    school.approval_threshold_pence = threshold_pounds * 100
    school.second_approval_pence = None if second_pounds is None else second_pounds * 100
    audit.record(
        actor,
        "school",
        school.id,
        "approval chain set",
        before=before,
        after={
            "approval_threshold_pence": school.approval_threshold_pence,
            "second_approval_pence": school.second_approval_pence,
        },
        scope=f"school:{school.id}",
    )
    db.session.commit()
    return school
