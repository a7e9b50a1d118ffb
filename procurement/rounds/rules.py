"""What a pledge could cost, so the school's approval rule can apply to it.

Pure: imports the standard library only. The approval rule itself is the orders' one
(`marketplace.orders.rules.needs_approval`): a pledge estimated above the school's approval
threshold waits for the head (budget holder); one within it is approved when it is made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PriceList:
    """An offer's all-units tiers as (from quantity, unit price in pence), and its set-up."""

    tiers: Sequence[tuple[int, int]]
    setup_pence: int = 0

    def cost_pence(self, quantity: int) -> int:
        """The quantity bought alone: every unit at the tier the quantity reaches, plus set-up."""
        ordered = sorted(self.tiers)
        reached = [price for start, price in ordered if start <= quantity]
        unit = reached[-1] if reached else ordered[0][1]
        return quantity * unit + self.setup_pence


def pledge_estimate_pence(quantity: int, price_lists: Iterable[PriceList]) -> int:
    """The most a pledge is expected to cost: its quantity bought alone from the dearest offer
    in the round for its service (tier reached by the school's own quantity, plus set-up).

    The sharing rule charges each school no more than its stand-alone cost (the cheapest offer
    alone), so the head approves an amount the award should not exceed. With no offers, 0.
    """
    costs = [p.cost_pence(quantity) for p in price_lists if p.tiers]
    return max(costs, default=0)
