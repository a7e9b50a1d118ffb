"""What happens to an order once it is submitted.

submitted → approved (over the school's approval threshold, once every step of its approval
chain is given: the head, then above the second step a different second approver) → confirmed (the
provider) → delivered → invoiced; or rejected (by the head, with a reason the school sees) /
cancelled (by the school) / declined (by the provider). Rejecting, declining and cancelling
release the order's capacity (marketplace.orders.capacity). Every change writes an audit
event in the same transaction, and every public use case commits once at its end or, when it
refuses, writes nothing.
"""

from __future__ import annotations

from datetime import date

from app.calendar import Term
from app.extensions import db
from app.models import APPROVER_ROLES, User
from app.time import london_date, london_today, utcnow
from app.use_case import use_case
from marketplace.billing.credits import credit_cancelled_order
from marketplace.offers import pricing
from marketplace.offers.models import Offer
from marketplace.orders import approvals, rules
from marketplace.orders.acceptance import dispute_working_days
from marketplace.orders.access import (
    get_order_for_approver,
    get_order_for_provider,
    get_order_for_school,
    record,
)
from marketplace.orders.capacity import release_capacity
from marketplace.orders.errors import (
    ApprovalRefused,
    CancellationRefused,
    InvalidOrder,
    OrderNotFound,
    OrderStateConflict,
)
from marketplace.orders.labels import STATUS_TEXT
from marketplace.orders.models import (
    CANCELLABLE_STATUSES,
    ORDER_CLOSED_STATUSES,
    ORDER_RESERVING_STATUSES,
    PROVIDER_COMMITTED_STATUSES,
    Order,
    OrderApproval,
    OrderStatus,
)
from marketplace.orders.notices import order_awaiting_approval, order_decided

REASON_MAX = 500


def _require(order: Order, allowed: frozenset[OrderStatus] | set[OrderStatus], doing: str) -> None:
    if order.status not in allowed:
        raise OrderStateConflict(
            f"Order {order.id} is {STATUS_TEXT[order.status].lower()}, so it cannot be {doing}."
        )


def _clean_reason(reason: str | None, *, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise InvalidOrder("Give a reason, so the school knows why", field="reason")
    if len(text) > REASON_MAX:
        raise InvalidOrder(f"The reason must be {REASON_MAX} characters or fewer", field="reason")
    return text


def _release(order: Order) -> None:
    if order.offer_id is not None and order.status in ORDER_RESERVING_STATUSES:
        release_capacity(order.offer_id, order.term_key, order.quantity)


def _approver_order(order_id: int, school_id: int, actor: User) -> Order:
    """The order, locked, when the actor approves for its school (the school's head or second
    approver, or its trust's finance lead); 404 otherwise."""
    if actor.role not in APPROVER_ROLES:
        raise OrderStateConflict(
            "Only the head (budget holder) or the school’s other approvers can approve or "
            "reject orders."
        )
    order = get_order_for_approver(order_id, actor, lock=True)
    if order.school_id != school_id:
        raise OrderNotFound("There is no such order.")
    return order


@use_case
def approve(order_id: int, school_id: int, actor: User) -> Order:
    """Give the order's next approval under its school's chain
    (marketplace.orders.rules.approvals_needed). The order is approved, and goes to the
    provider, once every step it needs is given; each step by a different person."""
    order = _approver_order(order_id, school_id, actor)
    _require(order, {OrderStatus.SUBMITTED}, "approved")
    needed = approvals.steps_for(order)
    number, _step = approvals.upcoming(order)
    problem = approvals.approval_problem(order, actor)
    if problem:
        raise ApprovalRefused(problem)
    before = order.snapshot()
    now = utcnow()
    db.session.add(OrderApproval(order=order, step=number, approver_id=actor.id, approved_at=now))
    if number < len(needed):
        record(actor, order, "approval step given", before, step=number, of=len(needed))
        order_awaiting_approval(order, step=needed[number])
    else:
        order.status = OrderStatus.APPROVED
        order.approved_at = now
        order.approved_by_id = actor.id
        record(actor, order, "approved", before, step=number, of=len(needed))
        order_decided(order, "approved")
    db.session.commit()
    return order


@use_case
def reject(order_id: int, school_id: int, actor: User, reason: str | None) -> Order:
    """An approver turns down an order waiting for approval; its capacity is released."""
    order = _approver_order(order_id, school_id, actor)
    _require(order, {OrderStatus.SUBMITTED}, "rejected")
    text = _clean_reason(reason, required=True)
    before = order.snapshot()
    _release(order)
    order.status = OrderStatus.REJECTED
    order.rejection_reason = text
    order.cancelled_at = utcnow()
    record(actor, order, "rejected", before, reason=text)
    order_decided(order, "rejected", text)
    db.session.commit()
    return order


@use_case
def confirm(order_id: int, provider_id: int, actor: User) -> Order:
    """The provider accepts an approved order."""
    order = get_order_for_provider(order_id, provider_id, lock=True)
    _require(order, {OrderStatus.APPROVED}, "confirmed")
    before = order.snapshot()
    order.status = OrderStatus.CONFIRMED
    order.confirmed_at = utcnow()
    record(actor, order, "confirmed", before)
    order_decided(order, "confirmed")
    db.session.commit()
    return order


@use_case
def decline(order_id: int, provider_id: int, actor: User, reason: str | None) -> Order:
    """The provider turns an order down before confirming it; its capacity is released."""
    order = get_order_for_provider(order_id, provider_id, lock=True)
    _require(order, {OrderStatus.SUBMITTED, OrderStatus.APPROVED}, "declined")
    text = _clean_reason(reason, required=True)
    before = order.snapshot()
    _release(order)
    order.status = OrderStatus.DECLINED
    order.cancelled_at = utcnow()
    record(actor, order, "declined", before, reason=text)
    order_decided(order, "declined", text)
    db.session.commit()
    return order


def starts_on(order: Order) -> date:
    """When the order's work can start: its term's first day, or later when the offer's lead
    time from submission runs past it (marketplace.orders.rules.order_starts_on)."""
    offer = db.session.get(Offer, order.offer_id) if order.offer_id is not None else None
    submitted = london_date(order.submitted_at) if order.submitted_at else None
    return rules.order_starts_on(
        Term.parse(order.term_key).starts_on, submitted, offer.lead_time_days if offer else 0
    )


@use_case
def deliver(order_id: int, provider_id: int, actor: User, *, today: date | None = None) -> Order:
    """The provider records that a confirmed order has been delivered, not before it starts.

    The school then has DELIVERY_DISPUTE_WORKING_DAYS working days to confirm receipt or
    dispute it (marketplace.orders.acceptance).
    """
    order = get_order_for_provider(order_id, provider_id, lock=True)
    _require(order, {OrderStatus.CONFIRMED}, "marked delivered")
    today = today or london_today()
    problem = rules.delivery_problem(today=today, starts_on=starts_on(order))
    if problem:
        raise OrderStateConflict(problem)
    before = order.snapshot()
    order.status = OrderStatus.DELIVERED
    order.delivered_at = utcnow()
    order.acceptance_due_on = rules.acceptance_due_on(today, dispute_working_days())
    record(actor, order, "delivered", before, acceptance_due_on=order.acceptance_due_on.isoformat())
    order_decided(order, "delivered")
    db.session.commit()
    return order


def cancellation_terms(order: Order, today: date | None = None) -> pricing.Settlement:
    """What cancelling this order today would cost, under its offer's rules."""
    offer = db.session.get(Offer, order.offer_id) if order.offer_id is not None else None
    rules_ = pricing.CancellationRules(
        notice_days=offer.notice_days if offer else 0,
        admin_charge_bp=offer.cancellation_charge_bp if offer else 0,
    )
    term = Term.parse(order.term_key)
    return pricing.settle_cancellation(
        order.total_pence,
        confirmed=order.status in PROVIDER_COMMITTED_STATUSES,
        rules=rules_,
        term_starts_on=term.starts_on,
        term_ends_on=term.ends_on,
        cancelled_on=today or london_today(),
    )


@use_case
def cancel(
    order_id: int,
    school_id: int,
    actor: User,
    reason: str | None = "",
    *,
    today: date | None = None,
) -> Order:
    """The school cancels an order under its offer's notice rules; capacity is released.

    Free until the provider confirms. Once confirmed, see
    marketplace.offers.pricing.settle_cancellation: the days of the term inside the notice
    period are charged pro rata plus the admin charge, and cancelling is refused when the
    notice period would run past the end of the term.
    A delivered or invoiced order is cancelled by the same rules: the charge is what the
    school still pays (billed, or kept from the invoice) and the rest is credited.
    """
    order = get_order_for_school(order_id, school_id, lock=True)
    if order.status in ORDER_CLOSED_STATUSES:
        raise OrderStateConflict(f"Order {order.id} is already {order.status.value}.")
    _require(order, CANCELLABLE_STATUSES, "cancelled")
    text = _clean_reason(reason, required=False)
    settlement = cancellation_terms(order, today)
    if not settlement.allowed:
        raise CancellationRefused(settlement.reason)
    before = order.snapshot()
    _release(order)
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = utcnow()
    order.cancellation_charge_pence = settlement.charge_pence
    # Billing (issue 6): if the order was already invoiced, credit the school what the rules
    # give back (a credit note, in this transaction; Stripe gets it on the next billing run).
    # An order never invoiced needs nothing here: the billing run bills only the charge.
    credit_cancelled_order(order, settlement.refund_pence, actor)
    record(
        actor,
        order,
        "cancelled",
        before,
        reason=text,
        charge_pence=settlement.charge_pence,
        refund_pence=settlement.refund_pence,
        rule=settlement.reason,
    )
    db.session.commit()
    return order
