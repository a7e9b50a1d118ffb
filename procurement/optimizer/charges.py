"""From a solution back to schools: stand-alone prices, each group's purchases split between its
schools, and the sharing rule with its individual-rationality check (docs/aggregator.md).

Pure: the standard library only (its own integer largest-remainder split).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from operator import attrgetter

from procurement.optimizer.instance import Demand, Instance, Offer
from procurement.optimizer.model import _Group, _OfferPlan, _Plan
from procurement.optimizer.result import Charge, ServiceCheck


def standalone_pence(offers: Iterable[Offer], school: str, quantity: int) -> int | None:
    """Cheapest single offer that could serve quantity for this school alone; None if none could."""
    if quantity == 0:
        return 0
    costs = [
        offer.cost_pence(quantity)
        for offer in offers
        if offer.serves(school) and offer.can_award(quantity)
    ]
    return min(costs) if costs else None


def largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split a whole total in proportion to whole weights so the parts add up exactly.

    Each part is the floor of its exact share; the units left over go to the largest
    remainders, ties to the earlier position (app.money's rule, kept here so the package stays
    pure). Weights must be >= 0 and not all 0 unless the total is 0.
    """
    if total < 0 or any(weight < 0 for weight in weights):
        raise ValueError("cannot split a negative total or over negative weights")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total == 0:
            return [0] * len(weights)
        raise ValueError("cannot split a positive total over weights that are all zero")
    parts = [total * weight // weight_sum for weight in weights]
    left = total - sum(parts)
    if left:
        remainders = [total * weight % weight_sum for weight in weights]
        # nlargest keeps input order among equal keys: ties go to the earlier position.
        for i in heapq.nlargest(left, range(len(weights)), key=remainders.__getitem__):
            parts[i] += 1
    return parts


class _Prices:
    """Stand-alone prices of one service's offers, each offer priced once per quantity."""

    def __init__(self) -> None:
        self.by_quantity: dict[int, dict[str, int | None]] = {}

    def cheapest(self, offers: tuple[Offer, ...], quantity: int) -> int | None:
        """standalone_pence for offers that all serve the school."""
        if quantity == 0:
            return 0
        known = self.by_quantity.setdefault(quantity, {})
        best: int | None = None
        for offer in offers:
            try:
                cost = known[offer.id]
            except KeyError:
                if offer.smallest_award <= quantity <= offer.capacity:
                    cost = offer.cost_pence(quantity)
                else:
                    cost = None
                known[offer.id] = cost
            if cost is not None and (best is None or cost < best):
                best = cost
        return best


def _list_price_pence(offers: Iterable[Offer], quantity: int) -> int:
    """Cheapest price of quantity on any of offers, ignoring capacity and minimum awards."""
    if quantity == 0:
        return 0
    prices = []
    for offer in offers:
        index = offer.tier_index(quantity)
        unit = offer.tiers[0 if index is None else index].unit_price_pence
        prices.append(quantity * unit + offer.setup_pence)
    return min(prices)


def _split_group(
    group: _Group, purchases: dict[int, int], offers: list[_OfferPlan]
) -> tuple[list[tuple[str, str, int]], dict[str, int]]:
    """Whole-unit allocations per school, deterministic: schools and offers in id order."""
    allocations: list[tuple[str, str, int]] = []
    met: dict[str, int] = {}
    schools = group.schools  # sorted by school id
    bought = [(offers[j].offer.id, purchases[j]) for j in sorted(purchases)]
    bought.sort()
    if group.unit is not None:
        # Single source: each school buys from one offer; ceil(units / unit) schools per offer.
        cursor = 0
        for offer_id, units in bought:
            while units > 0:
                school, _ = schools[cursor]
                take = min(units, group.unit)
                allocations.append((school, offer_id, take))
                met[school] = take
                units -= take
                cursor += 1
        return allocations, {school: met.get(school, 0) for school, _ in schools}
    total_met = sum(units for _, units in bought)
    shares = largest_remainder(total_met, [quantity for _, quantity in schools])
    met = {school: share for (school, _), share in zip(schools, shares, strict=True)}
    left = list(shares)  # units each school (in id order) still has to be allocated
    cursor = 0
    for offer_id, units in bought:
        while units > 0:
            while left[cursor] == 0:
                cursor += 1
            take = min(units, left[cursor])
            allocations.append((schools[cursor][0], offer_id, take))
            left[cursor] -= take
            units -= take
    return allocations, met


def _charges(
    instance: Instance,
    plan: _Plan,
    met: dict[tuple[str, str], int],
    pooled: dict[str, int],
) -> tuple[list[Charge], list[ServiceCheck]]:
    """Share each service's pooled cost in proportion to stand-alone cost (docs/aggregator.md)."""
    charges: list[Charge] = []
    checks: list[ServiceCheck] = []
    for service, pledges in plan.pledges.items():
        prices = _Prices()
        # _plan shares one eligible tuple between schools that reach the same offers: key by it.
        standalone: dict[tuple[int, int], int | None] = {}
        rows: list[tuple[Demand, int | None, int, int]] = []
        for pledge in pledges:
            offers = plan.eligible[(pledge.school, service)]
            key = (id(offers), pledge.quantity)
            if key not in standalone:
                standalone[key] = prices.cheapest(offers, pledge.quantity)
            alone = standalone[key]
            got = met.get((pledge.school, service), 0)
            if alone is not None and got == pledge.quantity:
                basis = alone
            else:
                basis = _list_price_pence(offers, got)
            rows.append((pledge, alone, got, basis))
        total = pooled.get(service, 0)
        weights = [basis for _, _, _, basis in rows]
        if sum(weights) == 0:
            weights = [got for _, _, got, _ in rows]
        parts = largest_remainder(total, weights) if total else [0] * len(rows)
        violations = []
        for (pledge, alone, got, basis), part in zip(rows, parts, strict=True):
            charges.append(Charge(pledge.school, service, pledge.quantity, got, alone, basis, part))
            if alone is not None and part > alone:
                violations.append(pledge.school)
        alones = [alone for pledge, alone, _, _ in rows if pledge.quantity > 0]
        known = [alone for alone in alones if alone is not None]
        alone_sum = sum(known) if len(known) == len(alones) else None
        all_met = all(got == pledge.quantity for pledge, _, got, _ in rows)
        must_hold = alone_sum is not None and all_met and total <= alone_sum
        checks.append(ServiceCheck(service, total, alone_sum, must_hold, tuple(violations)))
    charges.sort(key=attrgetter("school", "service"))
    return charges, checks
