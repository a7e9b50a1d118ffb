"""Provider capacity held by orders: reserved when an order is submitted (or a call-off is made
under a contract), released when it is cancelled, rejected or declined.

Submitting reserves the order's units in its term with one conditional UPDATE
(`reserved = reserved + q WHERE reserved + q <= capacity`), so concurrent submitters can never
oversell; releasing gives them back. The caller commits.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.calendar import term_label
from app.extensions import db, rows_changed
from marketplace.offers.models import Offer, OfferCapacity
from marketplace.orders import rules
from marketplace.orders.errors import CapacityExhausted, InvalidOrder, OfferUnavailable


def reserve_capacity(offer_id: int, term_key: str, quantity: int) -> None:
    """Hold `quantity` units of the offer's capacity in a term, or refuse if they are not left.

    One conditional UPDATE: on PostgreSQL a concurrent submitter waits for the row and then
    re-checks the condition against the committed value, so capacity is never oversold (the
    CHECK reserved <= capacity backs it up). The caller commits.
    """
    if quantity <= 0:
        raise InvalidOrder("The quantity must be at least 1", field="quantity")
    changed = rows_changed(
        sa.update(OfferCapacity)
        .where(
            OfferCapacity.offer_id == offer_id,
            OfferCapacity.term_key == term_key,
            OfferCapacity.reserved + quantity <= OfferCapacity.capacity,
        )
        .values(reserved=OfferCapacity.reserved + quantity)
        .execution_options(synchronize_session="fetch")
    )
    if changed == 1:
        return
    row = db.session.execute(
        sa.select(OfferCapacity, Offer)
        .join(Offer, Offer.id == OfferCapacity.offer_id)
        .where(OfferCapacity.offer_id == offer_id, OfferCapacity.term_key == term_key)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise OfferUnavailable(f"This offer has no capacity for {term_label(term_key)}.")
    capacity, offer = row
    raise capacity_exhausted(offer, term_key, capacity.capacity - capacity.reserved, quantity)


def capacity_exhausted(offer: Offer, term_key: str, left: int, quantity: int) -> CapacityExhausted:
    """The refusal when an offer's term has fewer than `quantity` units left."""
    unit = offer.service.unit.value
    label = term_label(term_key)
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
    changed = rows_changed(
        sa.update(OfferCapacity)
        .where(
            OfferCapacity.offer_id == offer_id,
            OfferCapacity.term_key == term_key,
            OfferCapacity.reserved >= quantity,
        )
        .values(reserved=OfferCapacity.reserved - quantity)
        .execution_options(synchronize_session="fetch")
    )
    if changed != 1:
        raise RuntimeError(f"offer {offer_id} holds fewer than {quantity} units for {term_key}")
