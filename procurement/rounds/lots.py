"""Lots: a lot is one service in one term, the unit the aggregator pools and prices.

An offer's capacity and volume tiers apply per term, so the pledges of each lot are pooled
together.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.calendar import Term
from marketplace.catalogue.models import Service
from procurement.rounds.models import BuyingRound


@dataclass(frozen=True)
class Lot:
    """One service in one term: what the aggregator pools and prices."""

    service: Service
    term: Term
    step: int = 1  # pledges are whole multiples of it (the round's standard quantity)

    @property
    def key(self) -> str:
        return lot_key(self.service.slug, self.term.key)

    @property
    def label(self) -> str:
        return f"{self.service.name}, {self.term.label}"


def lot_key(service_slug: str, term_key: str) -> str:
    return f"{service_slug}@{term_key}"


def lots(buying_round: BuyingRound) -> list[Lot]:
    """The round's lots, by service name then term."""
    terms = sorted(Term.parse(key) for key in buying_round.term_keys)
    chosen = sorted(buying_round.services, key=lambda rs: (rs.service.name, rs.service.id))
    return [Lot(rs.service, term, rs.pledge_step) for rs in chosen for term in terms]


def step_problem(lot: Lot, quantity: int) -> str | None:
    """Why a pledge is not in the lot's blocks, naming the nearest pledges that are; None if it
    is (0 withdraws, so it always is)."""
    if lot.step <= 1 or quantity % lot.step == 0:
        return None
    lower = quantity - quantity % lot.step
    upper = lower + lot.step
    nearest = f"{lower} or {upper}" if lower else str(upper)
    return (
        f"Pledge {lot.label} in blocks of {lot.step}: {quantity:,} is not a multiple of"
        f" {lot.step} (try {nearest})"
    )
