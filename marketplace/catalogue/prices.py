"""The price a school sees: per offer at the quantity it would typically buy, and the lowest
price with the quantity that reaches it (never a pooled 150-day price passed off as its own).

`price_for_school` is the one place that says what a school pays per unit for a quantity of an
offer; every page (catalogue, service page, comparison) asks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from marketplace.offers.pricing import (
    PriceAtQuantity,
    price_at_quantity,
    typical_quantity,
)
from marketplace.offers.tiers import Priced, member_tiers, tiers_for
from marketplace.orders.models import ORDER_CLOSED_STATUSES, Order


def last_order_quantities(school_id: int | None) -> dict[int, int]:
    """The quantity of the school's most recent order of each service, by service id
    (cancelled, declined and rejected orders aside)."""
    if school_id is None:
        return {}
    rows = db.session.execute(
        sa.select(Order.service_id, Order.quantity)
        .where(Order.school_id == school_id, Order.status.not_in(ORDER_CLOSED_STATUSES))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    found: dict[int, int] = {}
    for service_id, quantity in rows:
        found.setdefault(service_id, quantity)
    return found


def quantity_for(offer: Priced, last_ordered: int | None) -> int:
    """The quantity a school is shown this offer's price for (see `typical_quantity`)."""
    return typical_quantity(
        last_ordered=last_ordered, min_quantity=offer.min_quantity, tiers=member_tiers(offer)
    )


def price_for_school(
    offer: Priced, school_id: int | None, quantity: int, *, member: bool = True
) -> PriceAtQuantity | None:
    """What the school pays per unit for `quantity` units of the offer, and the offer's lowest
    unit price with the quantity that reaches it; None when the offer has no prices.

    `school_id` is None for someone who is not buying for a school (the partnership's staff):
    the offer's list price. A school that is not a member this academic year (`member` False)
    pays the offer's non-member prices. Contract prices are shown beside offers, not folded in.
    """
    tiers = tiers_for(offer, member=member)
    if not tiers:
        return None
    return price_at_quantity(tiers, quantity)


@dataclass(frozen=True)
class ServiceHeadline:
    """A service's prices on the catalogue for one school: the cheapest offer at the quantity the
    school would buy, and the lowest price of any offer with the quantity that reaches it."""

    typical: PriceAtQuantity
    lowest_unit_price_pence: int
    lowest_from_quantity: int

    @property
    def shows_from(self) -> bool:
        return self.lowest_unit_price_pence < self.typical.unit_price_pence


def headline(
    offers: Iterable[Priced],
    school_id: int | None,
    last_ordered: int | None,
    *,
    member: bool = True,
) -> ServiceHeadline | None:
    """The headline prices over a service's offers (non-member prices for a school that is not
    a member, `member` False), or None when none has prices."""
    prices = [
        price
        for offer in offers
        if (
            price := price_for_school(
                offer, school_id, quantity_for(offer, last_ordered), member=member
            )
        )
        is not None
    ]
    if not prices:
        return None
    typical = min(prices, key=lambda p: (p.unit_price_pence, p.quantity))
    lowest = min(prices, key=lambda p: (p.lowest_unit_price_pence, p.lowest_from_quantity))
    return ServiceHeadline(typical, lowest.lowest_unit_price_pence, lowest.lowest_from_quantity)
