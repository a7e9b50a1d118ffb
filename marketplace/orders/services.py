"""Orders: the lifecycle from draft to delivered, with provider capacity reserved and released.

draft → submitted (over the school's approval threshold: waits for the head) → approved →
confirmed (by the provider) → delivered → invoiced; or cancelled (by the school, or rejected
by the head) / declined (by the provider).

Capacity: submitting reserves the order's units in its term with one conditional UPDATE
(`reserved = reserved + q WHERE reserved + q <= capacity`), so concurrent submitters can
never oversell; cancelling or declining releases them. Every change writes an audit event in
the same transaction, and every public use case commits once at its end or, when it refuses,
writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.accounts import provider_for_school, provider_for_user
from app.calendar import Term, add_working_days
from app.extensions import db
from app.models import PARTNERSHIP_ROLES, SCHOOL_ROLES, Role, School, User
from app.money import format_pence
from app.time import london_today, utcnow
from app.use_case import use_case
from marketplace.catalogue.models import ServiceKind
from marketplace.entitlements import services as entitlements
from marketplace.offers import pricing
from marketplace.offers.errors import OfferNotFound
from marketplace.offers.models import Offer, OfferCapacity
from marketplace.orders import rules
from marketplace.orders.contract_prices import ContractPrice, contract_prices
from marketplace.orders.errors import (
    CancellationRefused,
    CapacityExhausted,
    InvalidOrder,
    OfferUnavailable,
    OrderNotFound,
    OrderStateConflict,
    PriceChanged,
)
from marketplace.orders.models import (
    ORDER_CLOSED_STATUSES,
    ORDER_RESERVING_STATUSES,
    Order,
    OrderKind,
    OrderStatus,
)

PO_NUMBER_MAX = 60
NOTES_MAX = 2000
REASON_MAX = 500

# What each status means to the people reading it.
STATUS_TEXT = {
    OrderStatus.DRAFT: "Draft",
    OrderStatus.SUBMITTED: "Awaiting approval",
    OrderStatus.APPROVED: "Approved",
    OrderStatus.CONFIRMED: "Confirmed",
    OrderStatus.DELIVERED: "Delivered",
    OrderStatus.INVOICED: "Invoiced",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.DECLINED: "Declined",
}
CANCELLABLE_STATUSES = frozenset(
    {
        OrderStatus.DRAFT,
        OrderStatus.SUBMITTED,
        OrderStatus.APPROVED,
        OrderStatus.CONFIRMED,
        OrderStatus.DELIVERED,
        OrderStatus.INVOICED,
    }
)
# Once the provider has confirmed, cancelling follows the offer's notice rules; after delivery
# or invoicing the same rules apply and what they give back is credited (marketplace.billing).
PROVIDER_COMMITTED_STATUSES = frozenset(
    {OrderStatus.CONFIRMED, OrderStatus.DELIVERED, OrderStatus.INVOICED}
)


# Loading, always scoped to the organisation asking ---------------------------------------


def _load(order_id: int, *conditions: sa.ColumnElement[bool], lock: bool = False) -> Order:
    stmt = sa.select(Order).where(Order.id == order_id, *conditions)
    if lock:
        # Wait for anyone else changing this order, then read its latest committed state.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    order = db.session.scalar(stmt)
    if order is None:
        raise OrderNotFound("There is no such order.")
    return order


def get_order_for_school(order_id: int, school_id: int, *, lock: bool = False) -> Order:
    """One of the school's own orders (404 for anyone else's)."""
    return _load(order_id, Order.school_id == school_id, lock=lock)


def get_order_for_provider(order_id: int, provider_id: int, *, lock: bool = False) -> Order:
    """An order placed with this provider (404 for anyone else's)."""
    return _load(order_id, Order.provider_id == provider_id, lock=lock)


def get_order_for_user(order_id: int, user: User) -> Order:
    """An order the user may read: their school's, their provider's, or any for the partnership."""
    if user.role in PARTNERSHIP_ROLES:
        return _load(order_id)
    conditions = []
    if user.role in SCHOOL_ROLES and user.school_id is not None:
        conditions.append(Order.school_id == user.school_id)
    provider = provider_for_user(user)
    if provider is not None:
        conditions.append(Order.provider_id == provider.id)
    if not conditions:
        raise OrderNotFound("There is no such order.")
    return _load(order_id, sa.or_(*conditions))


# What a list of orders shows, loaded in a few queries rather than three per row.
_LIST_LOADS = (
    selectinload(Order.school),
    selectinload(Order.provider),
    selectinload(Order.service),
)


def school_orders(school_id: int, status: OrderStatus | None = None) -> sa.Select:
    """The school's orders, newest first (a statement for pagination)."""
    stmt = sa.select(Order).where(Order.school_id == school_id).options(*_LIST_LOADS)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    return stmt.order_by(Order.created_at.desc(), Order.id.desc())


def provider_orders(provider_id: int, status: OrderStatus | None = None) -> sa.Select:
    """Orders placed with the provider (drafts are the school's business), newest first."""
    stmt = (
        sa.select(Order)
        .where(Order.provider_id == provider_id, Order.status != OrderStatus.DRAFT)
        .options(*_LIST_LOADS)
    )
    if status is not None:
        stmt = stmt.where(Order.status == status)
    return stmt.order_by(Order.submitted_at.desc(), Order.id.desc())


def history(order: Order) -> list[audit.AuditEvent]:
    """The order's audit trail, oldest first."""
    return audit.history("order", order.id)


# Capacity ---------------------------------------------------------------------------------


def reserve_capacity(offer_id: int, term_key: str, quantity: int) -> None:
    """Hold `quantity` units of the offer's capacity in a term, or refuse if they are not left.

    One conditional UPDATE: on PostgreSQL a concurrent submitter waits for the row and then
    re-checks the condition against the committed value, so capacity is never oversold (the
    CHECK reserved <= capacity backs it up). The caller commits.
    """
    if quantity <= 0:
        raise InvalidOrder("The quantity must be at least 1", field="quantity")
    result = db.session.execute(
        sa.update(OfferCapacity)
        .where(
            OfferCapacity.offer_id == offer_id,
            OfferCapacity.term_key == term_key,
            OfferCapacity.reserved + quantity <= OfferCapacity.capacity,
        )
        .values(reserved=OfferCapacity.reserved + quantity)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount == 1:
        return
    row = db.session.execute(
        sa.select(OfferCapacity, Offer)
        .join(Offer, Offer.id == OfferCapacity.offer_id)
        .where(OfferCapacity.offer_id == offer_id, OfferCapacity.term_key == term_key)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise OfferUnavailable(f"This offer has no capacity for {_term_label(term_key)}.")
    capacity, offer = row
    raise _capacity_exhausted(offer, term_key, capacity.capacity - capacity.reserved, quantity)


def _capacity_exhausted(offer: Offer, term_key: str, left: int, quantity: int) -> CapacityExhausted:
    unit = offer.service.unit.value
    label = _term_label(term_key)
    if left <= 0:
        return CapacityExhausted(
            f"Capacity ran out: {offer.provider.name} has no {rules.plural(unit, 2)} left "
            f"for {label}.",
            field="quantity",
        )
    return CapacityExhausted(
        f"Capacity ran out: {offer.provider.name} has only {left} {rules.plural(unit, left)} "
        f"left for {label}, and this order needs {quantity}.",
        field="quantity",
    )


def release_capacity(offer_id: int, term_key: str, quantity: int) -> None:
    """Give `quantity` reserved units back to the offer's term. The caller commits."""
    result = db.session.execute(
        sa.update(OfferCapacity)
        .where(
            OfferCapacity.offer_id == offer_id,
            OfferCapacity.term_key == term_key,
            OfferCapacity.reserved >= quantity,
        )
        .values(reserved=OfferCapacity.reserved - quantity)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        raise RuntimeError(f"offer {offer_id} holds fewer than {quantity} units for {term_key}")


def _term_label(term_key: str) -> str:
    try:
        return Term.parse(term_key).label
    except ValueError:
        return term_key


# Pricing an order ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedOrder:
    """An offer, school, term and quantity that passed every check, with its price."""

    offer: Offer
    school: School
    term: Term
    quote: pricing.Quote
    contract: ContractPrice | None


def _parse_term(term_key: str | None) -> Term:
    try:
        return Term.parse(term_key or "")
    except ValueError:
        raise InvalidOrder("Choose the term you want the service in", field="term_key") from None


def prepare(
    *,
    offer_id: int,
    school_id: int,
    term_key: str | None,
    quantity: object,
    today: date,
    lock_entitlement: bool = False,
) -> PreparedOrder:
    """Check that this school may order this offer for this term and quantity, and price it."""
    offer = db.session.get(Offer, offer_id) if isinstance(offer_id, int) else None
    if offer is None:
        raise OfferNotFound("There is no such offer.")
    school = db.session.get(School, school_id)
    if school is None:
        raise InvalidOrder("Your account is not linked to a school.")
    problem = rules.offer_problem(
        status=offer.status.value, valid_from=offer.valid_from, valid_to=offer.valid_to, today=today
    )
    if problem is None:
        own = provider_for_school(school.id)
        problem = rules.eligibility_problem(
            areas=offer.areas or [],
            excluded_school_ids=offer.excluded_school_ids or [],
            school_id=school.id,
            school_area=school.area,
            school_provider_id=own,
            offer_provider_id=offer.provider_id,
        )
    if problem is not None:
        raise OfferUnavailable(problem + ".")
    unit = offer.service.unit.value
    problem = rules.quantity_problem(quantity, min_quantity=offer.min_quantity, unit=unit)
    if problem is not None:
        raise InvalidOrder(problem, field="quantity")
    assert isinstance(quantity, int)
    term = _parse_term(term_key)
    capacity = next((c for c in offer.capacities if c.term_key == term.key), None)
    if capacity is None:
        raise InvalidOrder(f"This offer has no capacity for {term.label}", field="term_key")
    if term < Term.containing(today):
        raise InvalidOrder(f"{term.label} is over: choose a later term", field="term_key")
    problem = rules.term_problem(
        term_label=term.label,
        term_starts_on=term.starts_on,
        term_ends_on=term.ends_on,
        valid_from=offer.valid_from,
        valid_to=offer.valid_to,
        earliest_start=add_working_days(today, offer.lead_time_days),
    )
    if problem is not None:
        raise InvalidOrder(problem, field="term_key")
    if quantity > capacity.left:  # a first look; submitting reserves atomically
        raise _capacity_exhausted(offer, term.key, capacity.left, quantity)
    left = 0
    if offer.service.kind is ServiceKind.CORE:
        left = entitlements.entitlement_left(
            school.id, offer.service_id, term.start_year, lock=lock_entitlement
        )
    contract = contract_prices().price_for(
        school.id, offer.service_id, offer.provider_id, term, quantity
    )
    try:
        quote = pricing.quote(
            quantity,
            [pricing.Tier(t.min_quantity, t.unit_price_pence) for t in offer.tiers],
            entitlement_left=left,
            contract_unit_price_pence=contract.unit_price_pence if contract else None,
            setup_pence=offer.setup_pence,
        )
    except pricing.PricingError as exc:
        raise InvalidOrder(str(exc), field="quantity") from None
    return PreparedOrder(offer=offer, school=school, term=term, quote=quote, contract=contract)


def _clean_text(value: str | None, limit: int, what: str, field: str) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidOrder(f"{what} must be {limit} characters or fewer", field=field)
    return text


def _clean_po(value: str | None) -> str:
    po_number = _clean_text(value, PO_NUMBER_MAX, "The purchase-order number", "po_number")
    if not po_number:
        raise InvalidOrder("Enter your purchase-order number", field="po_number")
    return po_number


def _apply(order: Order, prepared: PreparedOrder) -> None:
    quote = prepared.quote
    order.offer_id = prepared.offer.id
    order.provider_id = prepared.offer.provider_id
    order.service_id = prepared.offer.service_id
    order.term_key = prepared.term.key
    order.quantity = quote.quantity
    order.entitled_quantity = quote.entitled_quantity
    order.unit_price_pence = quote.unit_price_pence
    order.setup_pence = quote.setup_pence
    order.total_pence = quote.total_pence
    order.contract_id = prepared.contract.contract_id if prepared.contract else None
    order.kind = OrderKind.CALL_OFF if prepared.contract else OrderKind.ORDER


def _record(
    actor: User | None, order: Order, action: str, before: dict | None, **extra: object
) -> None:
    audit.record(
        actor,
        "order",
        order.id,
        action,
        before=before,
        after={**order.snapshot(), **extra},
        scope=f"school:{order.school_id}",
    )


# Use cases -------------------------------------------------------------------------------------


@use_case
def create_draft(
    *,
    school_id: int,
    offer_id: int,
    term_key: str | None,
    quantity: object,
    po_number: str | None,
    notes: str | None = "",
    actor: User,
    today: date | None = None,
) -> Order:
    """Save an order as a draft, priced, for the school to check and submit."""
    prepared = prepare(
        offer_id=offer_id,
        school_id=school_id,
        term_key=term_key,
        quantity=quantity,
        today=today or london_today(),
    )
    order = Order(
        school_id=school_id,
        status=OrderStatus.DRAFT,
        po_number=_clean_po(po_number),
        notes=_clean_text(notes, NOTES_MAX, "Notes", "notes"),
        created_by_id=actor.id,
    )
    _apply(order, prepared)
    db.session.add(order)
    db.session.flush()
    _record(actor, order, "created", None, offer_id=order.offer_id, po_number=order.po_number)
    db.session.commit()
    return order


def _not_editable(order: Order) -> OrderStateConflict:
    return OrderStateConflict(
        f"Order {order.id} is {STATUS_TEXT[order.status].lower()}, so it can no longer be "
        "changed. Cancel it and place a new order instead."
    )


@use_case
def update_draft(
    order_id: int,
    school_id: int,
    *,
    term_key: str | None,
    quantity: object,
    po_number: str | None,
    notes: str | None = "",
    actor: User,
    today: date | None = None,
) -> Order:
    """Change a draft's term, quantity, purchase-order number or notes; it is priced again."""
    order = get_order_for_school(order_id, school_id, lock=True)
    if order.status is not OrderStatus.DRAFT:
        raise _not_editable(order)
    if order.offer_id is None:
        raise OrderStateConflict("This call-off is managed from its contract.")
    before = {**order.snapshot(), "po_number": order.po_number}
    prepared = prepare(
        offer_id=order.offer_id,
        school_id=school_id,
        term_key=term_key,
        quantity=quantity,
        today=today or london_today(),
    )
    order.po_number = _clean_po(po_number)
    order.notes = _clean_text(notes, NOTES_MAX, "Notes", "notes")
    _apply(order, prepared)
    _record(actor, order, "updated", before, po_number=order.po_number)
    db.session.commit()
    return order


@use_case
def submit(order_id: int, school_id: int, actor: User, *, today: date | None = None) -> Order:
    """Send a draft: reserve capacity; approve it at once if within the approval threshold.

    A second submit of the same order changes nothing and says so.
    """
    order = get_order_for_school(order_id, school_id, lock=True)
    if order.status is not OrderStatus.DRAFT:
        if order.status in ORDER_RESERVING_STATUSES:
            raise OrderStateConflict(
                f"Order {order.id} has already been submitted; nothing was changed."
            )
        raise OrderStateConflict(
            f"Order {order.id} is {STATUS_TEXT[order.status].lower()} and cannot be submitted."
        )
    if order.offer_id is not None:
        prepared = prepare(
            offer_id=order.offer_id,
            school_id=school_id,
            term_key=order.term_key,
            quantity=order.quantity,
            today=today or london_today(),
            lock_entitlement=True,
        )
        quote = prepared.quote
        if (quote.total_pence, quote.entitled_quantity) != (
            order.total_pence,
            order.entitled_quantity,
        ):
            raise PriceChanged(
                f"The price has changed since this draft was saved: it now costs "
                f"{format_pence(quote.total_pence)} (was {format_pence(order.total_pence)}). "
                "Check the order and save it again to accept the new price."
            )
        reserve_capacity(order.offer_id, order.term_key, order.quantity)
    before = order.snapshot()
    now = utcnow()
    order.status = OrderStatus.SUBMITTED
    order.submitted_at = now
    _record(actor, order, "submitted", before)
    school = db.session.get(School, order.school_id)
    assert school is not None
    if order.total_pence <= school.approval_threshold_pence:
        before = order.snapshot()
        order.status = OrderStatus.APPROVED
        order.approved_at = now
        order.approved_by_id = actor.id
        _record(
            actor,
            order,
            "approved",
            before,
            note=f"Within the school’s approval threshold of "
            f"{format_pence(school.approval_threshold_pence)}",
        )
    db.session.commit()
    return order


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


@use_case
def approve(order_id: int, school_id: int, actor: User) -> Order:
    """The head approves an order over the school's threshold."""
    if actor.role is not Role.HEAD:
        raise OrderStateConflict("Only the head (budget holder) can approve orders.")
    order = get_order_for_school(order_id, school_id, lock=True)
    _require(order, {OrderStatus.SUBMITTED}, "approved")
    before = order.snapshot()
    order.status = OrderStatus.APPROVED
    order.approved_at = utcnow()
    order.approved_by_id = actor.id
    _record(actor, order, "approved", before)
    db.session.commit()
    return order


@use_case
def reject(order_id: int, school_id: int, actor: User, reason: str | None) -> Order:
    """The head turns down an order waiting for approval; its capacity is released."""
    if actor.role is not Role.HEAD:
        raise OrderStateConflict("Only the head (budget holder) can reject orders.")
    order = get_order_for_school(order_id, school_id, lock=True)
    _require(order, {OrderStatus.SUBMITTED}, "rejected")
    text = _clean_reason(reason, required=True)
    before = order.snapshot()
    _release(order)
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = utcnow()
    _record(actor, order, "rejected", before, reason=text)
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
    _record(actor, order, "confirmed", before)
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
    _record(actor, order, "declined", before, reason=text)
    db.session.commit()
    return order


@use_case
def deliver(order_id: int, provider_id: int, actor: User) -> Order:
    """The provider records that a confirmed order has been delivered."""
    order = get_order_for_provider(order_id, provider_id, lock=True)
    _require(order, {OrderStatus.CONFIRMED}, "marked delivered")
    before = order.snapshot()
    order.status = OrderStatus.DELIVERED
    order.delivered_at = utcnow()
    _record(actor, order, "delivered", before)
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

    Free until the provider confirms. Once confirmed, see marketplace.pricing.settle_cancellation:
    the days of the term inside the notice period are charged pro rata plus the admin charge,
    and cancelling is refused when the notice period would run past the end of the term.
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
    from marketplace.billing.credits import credit_cancelled_order

    credit_cancelled_order(order, settlement.refund_pence, actor)
    _record(
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
