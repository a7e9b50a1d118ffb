"""Comparing two to four live offers for one service side by side, priced at one quantity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.accounts import provider_for_school
from app.extensions import db
from app.models import School
from marketplace.catalogue import prices
from marketplace.catalogue.errors import (
    BadCompareQuantity,
    OfferNotForService,
    TooFewOffersToCompare,
    TooManyOffersToCompare,
)
from marketplace.catalogue.models import Service
from marketplace.catalogue.services import (
    OfferView,
    live_offer_conditions,
    offer_view,
    service_page,
)
from marketplace.offers.models import Offer

MIN_COMPARED = 2
MAX_COMPARED = 4
MAX_QUANTITY = 10_000  # one order's units: more is a typing mistake


@dataclass(frozen=True)
class Comparison:
    """Offers for one service, each priced at `quantity` (the school's typical quantity unless
    it chose another)."""

    service: Service
    quantity: int
    offers: list[OfferView]
    basis: str  # why this quantity: "entered", "last order" or "smallest order"


def check_choice(offer_ids: Sequence[int]) -> list[int]:
    """The distinct offer ids, in the order chosen, when there are two to four of them."""
    chosen = list(dict.fromkeys(offer_ids))
    if len(chosen) < MIN_COMPARED:
        raise TooFewOffersToCompare(
            f"Select at least {MIN_COMPARED} offers to compare", field="offer"
        )
    if len(chosen) > MAX_COMPARED:
        raise TooManyOffersToCompare(
            f"Select no more than {MAX_COMPARED} offers to compare", field="offer"
        )
    return chosen


def compare_offers(
    service_id: int,
    offer_ids: Sequence[int],
    today: date,
    school: School | None,
    quantity: int | None = None,
) -> Comparison:
    """Two to four live offers for the service, side by side, priced at one quantity: the one
    given, else what the school last ordered, else the largest of the offers' smallest orders
    (so every offer can be bought at it)."""
    page = service_page(service_id, today, school)  # raises ServiceNotFound
    chosen = check_choice(offer_ids)
    offers = {
        offer.id: offer
        for offer in db.session.scalars(
            sa.select(Offer)
            .where(Offer.id.in_(chosen), *live_offer_conditions(today))
            .options(
                selectinload(Offer.tiers),
                selectinload(Offer.capacities),
                selectinload(Offer.provider),
            )
        )
    }
    strangers = [i for i in chosen if i not in offers or offers[i].service_id != service_id]
    if strangers:
        raise OfferNotForService(
            f"Compare only live offers for {page.service.name}: "
            + ("offer " if len(strangers) == 1 else "offers ")
            + ", ".join(str(i) for i in strangers)
            + (" is not one" if len(strangers) == 1 else " are not"),
            field="offer",
        )
    if quantity is not None and not 1 <= quantity <= MAX_QUANTITY:
        raise BadCompareQuantity(f"Enter a quantity from 1 to {MAX_QUANTITY:,}", field="quantity")
    picked = [offers[i] for i in chosen]
    if quantity is not None:
        basis = "entered"
    elif page.last_ordered:
        quantity, basis = page.last_ordered, "last order"
    else:
        quantity = max(prices.quantity_for(offer, None) for offer in picked)
        basis = "smallest order"
    own = provider_for_school(school.id) if school is not None else None
    views = [
        offer_view(offer, today, school, own_provider_id=own, quantity=quantity) for offer in picked
    ]
    return Comparison(page.service, quantity, views, basis)
