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
    services = sorted((rs.service for rs in buying_round.services), key=lambda s: (s.name, s.id))
    return [Lot(service, term) for service in services for term in terms]
