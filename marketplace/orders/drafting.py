"""Placing an order: pricing it, saving and changing the draft, and submitting it.

draft → submitted (over the school's approval threshold: waits for the head, see
marketplace.orders.decisions) or straight to approved (within it). Submitting reserves the
order's units (marketplace.orders.capacity). Every change writes an audit event in the same
transaction, and every public use case commits once at its end or, when it refuses, writes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.accounts import provider_for_school
from app.calendar import Term, add_working_days
from app.extensions import db
from app.models import School, User
from app.money import format_pence
from app.time import london_today, utcnow
from app.use_case import use_case
from marketplace.catalogue.editing import ensure_not_retired
from marketplace.catalogue.models import ServiceKind
from marketplace.entitlements import services as entitlements
from marketplace.offers import pricing
from marketplace.offers import tiers as offer_tiers
from marketplace.offers.errors import OfferNotFound
from marketplace.offers.models import Offer
from marketplace.orders import approvals, rules
from marketplace.orders.access import get_order_for_school, record
from marketplace.orders.capacity import capacity_exhausted, reserve_capacity
from marketplace.orders.contract_prices import ContractPrice, contract_prices
from marketplace.orders.errors import (
    InvalidOrder,
    OfferUnavailable,
    OrderStateConflict,
    PriceChanged,
)
from marketplace.orders.labels import STATUS_TEXT
from marketplace.orders.models import (
    ORDER_CLOSED_STATUSES,
    ORDER_RESERVING_STATUSES,
    Order,
    OrderKind,
    OrderStatus,
)
from marketplace.orders.notices import order_awaiting_approval
from marketplace.orders.savings import is_member
from marketplace.providers import compliance

PO_NUMBER_MAX = 60
NOTES_MAX = 2000


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
    if problem is None:
        problem = compliance.ordering_problem(offer.provider_id, today)
    if problem is not None:
        raise OfferUnavailable(problem + ".")
    ensure_not_retired(offer.service)
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
        raise capacity_exhausted(offer, term.key, capacity.left, quantity)
    member = is_member(school.id, term.start_year)
    if not member and offer.service.kind is ServiceKind.CORE:
        raise OfferUnavailable(
            f"Core services are for member schools: {school.name} is not a member of the "
            f"partnership for {term.academic_year.label}. Traded services can still be ordered "
            "at non-member prices."
        )
    left = 0
    if offer.service.kind is ServiceKind.CORE:
        left = entitlements.entitlement_left(
            school.id, offer.service_id, term.start_year, lock=lock_entitlement
        )
    contract = contract_prices().price_for(
        school.id, offer.service_id, offer.provider_id, term, quantity, lock=lock_entitlement
    )
    try:
        quote = pricing.quote(
            quantity,
            offer_tiers.member_tiers(offer),
            entitlement_left=left,
            contract_unit_price_pence=contract.unit_price_pence if contract else None,
            setup_pence=offer.setup_pence,
            non_member_uplift_bp=0 if member else offer.non_member_uplift_bp,
            non_member_prices=[] if member else offer_tiers.explicit_non_member_tiers(offer),
        )
    except pricing.PricingError as exc:
        raise InvalidOrder(str(exc), field="quantity") from None
    return PreparedOrder(offer=offer, school=school, term=term, quote=quote, contract=contract)


def _clean_text(value: str | None, limit: int, what: str, field: str) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidOrder(f"{what} must be {limit} characters or fewer", field=field)
    return text


def clean_po(value: str | None) -> str:
    """The school's purchase-order number, required, trimmed and at most PO_NUMBER_MAX long."""
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
    order.non_member_uplift_pence = quote.non_member_uplift_pence
    order.contract_id = prepared.contract.contract_id if prepared.contract else None
    order.kind = OrderKind.CALL_OFF if prepared.contract else OrderKind.ORDER


# Use cases ---------------------------------------------------------------------------------


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
    order = add_draft(prepared, po_number=po_number, notes=notes, actor=actor)
    db.session.commit()
    return order


def add_draft(
    prepared: PreparedOrder,
    *,
    po_number: str | None,
    notes: str | None,
    actor: User,
    checkout_id: int | None = None,
) -> Order:
    """Write a priced draft and its audit event (create_draft; a basket's checkout writes one
    per line). The caller commits."""
    order = Order(
        school_id=prepared.school.id,
        status=OrderStatus.DRAFT,
        po_number=clean_po(po_number),
        notes=_clean_text(notes, NOTES_MAX, "Notes", "notes"),
        created_by_id=actor.id,
        checkout_id=checkout_id,
    )
    _apply(order, prepared)
    db.session.add(order)
    db.session.flush()
    record(actor, order, "created", None, offer_id=order.offer_id, po_number=order.po_number)
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
    order.po_number = clean_po(po_number)
    order.notes = _clean_text(notes, NOTES_MAX, "Notes", "notes")
    _apply(order, prepared)
    record(actor, order, "updated", before, po_number=order.po_number)
    db.session.commit()
    return order


@use_case
def submit(order_id: int, school_id: int, actor: User, *, today: date | None = None) -> Order:
    """Send a draft: reserve capacity; approve it at once if within the approval threshold.

    A second submit of the same order changes nothing and says so.
    """
    order = get_order_for_school(order_id, school_id, lock=True)
    submit_draft(order, actor, today=today or london_today())
    db.session.commit()
    return order


def submit_draft(order: Order, actor: User, *, today: date) -> None:
    """Submit a draft the caller has loaded (locked): the one submit rule, for `submit` and for
    a basket's checkout, which submits every line's order in one transaction. The caller
    commits."""
    school_id = order.school_id
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
            today=today,
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
    record(actor, order, "submitted", before)
    school = db.session.get(School, order.school_id)
    assert school is not None
    if not approvals.steps_for(order):
        before = order.snapshot()
        order.status = OrderStatus.APPROVED
        order.approved_at = now
        order.approved_by_id = actor.id
        record(
            actor,
            order,
            "approved",
            before,
            note=f"Within the school’s approval threshold of "
            f"{format_pence(school.approval_threshold_pence)}",
        )
    else:
        order_awaiting_approval(order)


@use_case
def give_po_number(order_id: int, school_id: int, actor: User, po_number: str | None) -> Order:
    """The school gives its purchase-order number to an order that has none (a call-off
    awarded from a pledge made without one); billing waits for it."""
    order = get_order_for_school(order_id, school_id, lock=True)
    if order.po_number:
        raise OrderStateConflict(
            f"Order {order.id} already has purchase-order number {order.po_number}; "
            "nothing was changed."
        )
    if order.status in ORDER_CLOSED_STATUSES:
        raise OrderStateConflict(
            f"Order {order.id} is {STATUS_TEXT[order.status].lower()}; nothing was changed."
        )
    before = {**order.snapshot(), "po_number": order.po_number}
    order.po_number = clean_po(po_number)
    record(actor, order, "purchase order given", before, po_number=order.po_number)
    db.session.commit()
    return order
