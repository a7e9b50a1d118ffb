"""Reading the tiers and capacities of many offers at once, for pages that show them all.

What `selectinload(Offer.tiers)` and `selectinload(Offer.capacities)` do, by two plain
statements: the loader options cost about twice as much Python per statement, and the pages
that list offers with their prices (a service, a buying round) are the app's slowest (issue 19).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from marketplace.offers.models import Offer, OfferCapacity, OfferTier


def unloaded(instance: object, key: str) -> bool:
    """Whether this session has not loaded the instance's attribute `key` yet."""
    return key not in sa.inspect(instance).dict


def load_tiers_and_capacities(offers: Iterable[Offer]) -> None:
    """Read these offers' tiers and capacities, one statement each, and set them as loaded (as
    a loader would: not as changes to write). An offer whose collection this session has
    already loaded keeps it."""
    offers = list(offers)
    waiting = {offer.id: offer for offer in offers if unloaded(offer, "tiers")}
    if waiting:
        tiers: dict[int, list[OfferTier]] = {offer_id: [] for offer_id in waiting}
        for tier in db.session.scalars(
            sa.select(OfferTier)
            .where(OfferTier.offer_id.in_(waiting))
            .order_by(OfferTier.offer_id, OfferTier.min_quantity)  # as Offer.tiers
        ):
            tiers[tier.offer_id].append(tier)
        for offer_id, offer_tiers in tiers.items():
            set_committed_value(waiting[offer_id], "tiers", offer_tiers)
    waiting = {offer.id: offer for offer in offers if unloaded(offer, "capacities")}
    if waiting:
        capacities: dict[int, list[OfferCapacity]] = {offer_id: [] for offer_id in waiting}
        for capacity in db.session.scalars(
            sa.select(OfferCapacity)
            .where(OfferCapacity.offer_id.in_(waiting))
            .order_by(OfferCapacity.offer_id, OfferCapacity.term_key)  # as Offer.capacities
        ):
            capacities[capacity.offer_id].append(capacity)
        for offer_id, offer_capacities in capacities.items():
            set_committed_value(waiting[offer_id], "capacities", offer_capacities)
