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
        self.by_reach: dict[tuple[int, int], int | None] = {}

    def alone(self, offers: tuple[Offer, ...], quantity: int) -> int | None:
        """cheapest(), remembered per eligible tuple (which _plan shares between schools that
        reach the same offers) and quantity."""
        key = (id(offers), quantity)
        if key not in self.by_reach:
            self.by_reach[key] = self.cheapest(offers, quantity)
        return self.by_reach[key]

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


def capped_split(total: int, bases: Sequence[int], caps: Sequence[int]) -> tuple[list[int], bool]:
    """Share a whole total in proportion to bases, no part above its cap (water-filling).

    Parts start in proportion to the bases; every part above its cap is set to the cap and the
    excess is spread over the parts still below their caps, in proportion to their bases,
    repeated until nothing moves. The free parts are rounded by largest remainder, so the parts
    add up exactly to total and, since an exact share at or below a whole cap rounds to at most
    that cap, none ends above its cap. Returns the parts and whether the caps covered the total;
    when they do not (sum of caps < total), the parts are in proportion to the caps instead
    (to the bases if every cap is 0) and every part is at or above its cap.
    Positions decide nothing but rounding ties (to the earlier position).
    """
    count = len(bases)
    if len(caps) != count:
        raise ValueError("one cap per basis")
    if any(value < 0 for value in (*bases, *caps)):
        raise ValueError("bases and caps cannot be negative")
    if total == 0:
        return [0] * count, True
    if sum(caps) < total:
        weights = caps if sum(caps) else bases
        return largest_remainder(total, weights), False
    capped = [False] * count
    while True:
        free = [i for i in range(count) if not capped[i]]
        left = total - sum(caps[i] for i in range(count) if capped[i])
        weights = [bases[i] for i in free]
        if sum(weights) == 0:  # only schools with nothing to weigh them left: by their caps
            weights = [caps[i] for i in free]
        weight_sum = sum(weights)
        # Exact share left * weight / weight_sum above the cap, in whole numbers.
        over = [i for i, w in zip(free, weights, strict=True) if left * w > caps[i] * weight_sum]
        if not over:
            break
        for i in over:
            capped[i] = True
    parts = [caps[i] if capped[i] else 0 for i in range(count)]
    if free:
        for i, part in zip(free, largest_remainder(left, weights), strict=True):
            parts[i] = part
    return parts, True


def _charges(
    instance: Instance,
    plan: _Plan,
    met: dict[tuple[str, str], int],
    pooled: dict[str, int],
) -> tuple[list[Charge], list[ServiceCheck]]:
    """Share each service's pooled cost: in proportion to stand-alone cost, capped at each
    school's stand-alone price for what it got (docs/aggregator.md)."""
    charges: list[Charge] = []
    checks: list[ServiceCheck] = []
    for service, pledges in plan.pledges.items():
        alone_for = _Prices().alone
        rows: list[tuple[Demand, int | None, int, int, int]] = []
        for pledge in pledges:
            offers = plan.eligible[(pledge.school, service)]
            alone = alone_for(offers, pledge.quantity)
            got = met.get((pledge.school, service), 0)
            if alone is not None and got == pledge.quantity:
                basis = cap = alone
            else:
                basis = _list_price_pence(offers, got)
                # At most what it would pay alone for the units it got, or for its whole pledge
                # if that is less; with neither possible alone, at most the list price it got.
                known = [a for a in (alone_for(offers, got), alone) if a is not None]
                cap = min(known) if known else basis
            rows.append((pledge, alone, got, basis, cap))
        total = pooled.get(service, 0)
        bases = [basis for _, _, _, basis, _ in rows]
        if sum(bases) == 0:
            bases = [got for _, _, got, _, _ in rows]
        caps = [cap for *_, cap in rows]
        parts, covered = capped_split(total, bases, caps)
        violations = []
        for (pledge, alone, got, basis, cap), part in zip(rows, parts, strict=True):
            charges.append(
                Charge(pledge.school, service, pledge.quantity, got, alone, basis, part, cap)
            )
            if alone is not None and part > alone:
                violations.append(pledge.school)
        alones = [alone for pledge, alone, *_ in rows if pledge.quantity > 0]
        known_alone = [alone for alone in alones if alone is not None]
        alone_sum = sum(known_alone) if len(known_alone) == len(alones) else None
        all_met = all(got == pledge.quantity for pledge, _, got, _, _ in rows)
        must_hold = alone_sum is not None and all_met and total <= alone_sum
        checks.append(
            ServiceCheck(
                service, total, alone_sum, must_hold, tuple(violations), sum(caps), covered
            )
        )
    charges.sort(key=attrgetter("school", "service"))
    return charges, checks
