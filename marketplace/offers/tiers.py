"""An offer's price tiers as the pure pricing module takes them: member tiers, and the tiers a
school that is not a member pays (the provider's own, or the member tiers plus its uplift)."""

from __future__ import annotations

from dataclasses import dataclass

from marketplace.offers import pricing
from marketplace.offers.models import Offer
from marketplace.offers.pricing import Tier


@dataclass(frozen=True)
class PricedTier:
    min_quantity: int
    unit_price_pence: int
    non_member_unit_price_pence: int | None


@dataclass(frozen=True)
class PricedOffer:
    """What prices read of an offer, as plain values: for a page that prices many offers and
    shows nothing else of them (the catalogue's headline prices)."""

    id: int
    service_id: int
    min_quantity: int
    non_member_uplift_bp: int
    tiers: tuple[PricedTier, ...]  # by min_quantity, as Offer.tiers


# An offer as its prices are worked out from: the whole offer, or just what prices read of it.
Priced = Offer | PricedOffer


def member_tiers(offer: Priced) -> list[Tier]:
    return [Tier(t.min_quantity, t.unit_price_pence) for t in offer.tiers]


def explicit_non_member_tiers(offer: Priced) -> list[Tier]:
    """The non-member prices the provider typed per band; empty when it uses an uplift."""
    return [
        Tier(t.min_quantity, t.non_member_unit_price_pence)
        for t in offer.tiers
        if t.non_member_unit_price_pence is not None
    ]


def non_member_tiers(offer: Priced) -> list[Tier]:
    return pricing.non_member_tiers(
        member_tiers(offer), offer.non_member_uplift_bp, explicit_non_member_tiers(offer)
    )


def has_non_member_prices(offer: Offer) -> bool:
    """Non-members pay more than members for this offer."""
    return bool(offer.non_member_uplift_bp) or non_member_tiers(offer) != member_tiers(offer)


def tiers_for(offer: Priced, *, member: bool) -> list[Tier]:
    """The tiers a member (or a school that is not one) pays."""
    return member_tiers(offer) if member else non_member_tiers(offer)
