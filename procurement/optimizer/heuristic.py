"""A quick feasible allocation of one block, found before the exact search (issue 18).

The solver starts from it (a MIP start), so a time limit can only improve on it, and a block whose
search finds nothing in time returns it instead of leaving its demand unmet.

Greedy, then repaired, in whole units: pieces of demand (under single_source a whole school, else
a type's demand, split where it must be) go largest first to the offer that is cheapest per unit
at its fullest that still has room; then minimum awards, max_share and min_providers are
repaired by moving pieces, largest first, to offers with room, and whatever is left over is
placed where it fits. What cannot be placed is unmet. Under single_source the result is then
polished: whole schools move between two offers, alone or swapped, while that lowers the cost
and keeps every rule. The allocation is checked against every rule (`violations`); one that
breaks any is thrown away, so the heuristic can fail (None) but can never hand on an allocation
the model would refuse.

Pure: the standard library (and numpy in `polish`). Deterministic: every choice is ordered by
sizes and indices.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from procurement.optimizer.instance import Rules
from procurement.optimizer.model import _Block, _share
from procurement.optimizer.polish import polish as polish_schools


@dataclass(frozen=True)
class Heuristic:
    """A feasible allocation of one block: units and (under single_source) schools per group and
    offer, unmet units per group, and its cost in pence."""

    purchases: list[dict[int, int]]
    schools: list[dict[int, int]]
    unmet: list[int]
    cost_pence: int

    @property
    def unmet_total(self) -> int:
        return sum(self.unmet)


def band_of(block: _Block, j: int, total: int) -> int | None:
    """Index of the band (in the offer's plan) a total award falls in; None if it falls in none."""
    for t, band in enumerate(block.offers[j].bands):
        if band.low <= total <= band.high:
            return t
    return None


def cost_pence(block: _Block, totals: dict[int, int]) -> int:
    """What these offer totals cost in integers: band price × total + set-up, as the model."""
    cost = 0
    for j, total in totals.items():
        if total:
            t = band_of(block, j, total)
            if t is None:
                raise ValueError(f"offer {block.offers[j].offer.id} cannot be awarded {total}")
            cost += total * block.offers[j].bands[t].unit_price_pence
            cost += block.offers[j].offer.setup_pence
    return cost


def violations(block: _Block, rules: Rules, allocation: Heuristic) -> list[str]:
    """Every way the allocation breaks the model's rules; empty when it is feasible."""
    found: list[str] = []
    totals: dict[int, int] = defaultdict(int)
    for g, group in enumerate(block.groups):
        bought = allocation.purchases[g]
        for j, units in bought.items():
            if j not in group.offers:
                found.append(f"group {g} buys from offer {j} out of its reach")
            if units < 0:
                found.append(f"group {g} buys {units} from offer {j}")
            totals[j] += units
        if sum(bought.values()) + allocation.unmet[g] != group.quantity:
            found.append(f"group {g}: bought and unmet do not add up to its demand")
        if allocation.unmet[g] < 0:
            found.append(f"group {g}: negative unmet")
        if group.unit is not None:
            counts = allocation.schools[g]
            if sum(counts.values()) > len(group.schools):
                found.append(f"group {g}: more schools than it has")
            for j, units in bought.items():
                if units > group.unit * counts.get(j, 0):
                    found.append(f"group {g}: offer {j} serves more than its whole schools")
    for j, total in totals.items():
        if total and band_of(block, j, total) is None:
            found.append(f"offer {j}: total {total} outside its bands")
    share = _share(rules)
    for service in block.services:
        members = [j for j, plan in enumerate(block.offers) if plan.offer.service == service]
        everything = sum(totals[j] for j in members)
        for j in members:
            if totals[j] * share.denominator > share.numerator * everything:
                found.append(f"offer {j}: above max_share")
        providers = {block.offers[j].offer.provider for j in members if totals[j] > 0}
        if rules.min_providers >= 1 and len(providers) < rules.min_providers:
            found.append(f"{service}: {len(providers)} providers, fewer than min_providers")
    if allocation.cost_pence != cost_pence(block, totals):
        found.append("cost does not match the totals")
    return found


# Units aimed for per reach (a group's offers) and offer.
Targets = dict[tuple[tuple[int, ...], int], int]


class _State:
    """One service's allocation while it is built: pieces per offer and the unplaced ones."""

    def __init__(self, block: _Block, rules: Rules, service: str, groups: list[int]) -> None:
        self.block = block
        self.share: Fraction = _share(rules)
        self.members = [j for j, p in enumerate(block.offers) if p.offer.service == service]
        self.low = {j: block.offers[j].bands[0].low for j in self.members}
        self.high = {j: block.offers[j].bands[-1].high for j in self.members}
        plans = block.offers
        # Cheapest per unit when full: the last band's price plus the set-up spread over it;
        # ranked once (0 = cheapest), ties by offer id.
        price = {
            j: Fraction(plans[j].bands[-1].unit_price_pence)
            + Fraction(plans[j].offer.setup_pence, self.high[j])
            for j in self.members
        }
        by_price = sorted(self.members, key=lambda j: (price[j], plans[j].offer.id))
        self.rank = {j: position for position, j in enumerate(by_price)}
        self.total = {j: 0 for j in self.members}
        # Pieces [group, units] on each offer, by id (insertion-ordered); a divisible group has
        # at most one piece per offer (shared), which grows as units are put on it.
        self.pieces: dict[int, dict[int, list[int]]] = {j: {} for j in self.members}
        self.shared: dict[int, dict[int, list[int]]] = {j: {} for j in self.members}
        self.orders: dict[int, list[int]] = {}
        self.loose: list[list[int]] = []  # pieces not placed
        for g in groups:
            group = block.groups[g]
            if group.unit is not None:
                self.loose.extend([g, group.unit] for _ in group.schools)
            else:
                self.loose.append([g, group.quantity])
        self.loose.sort(key=lambda p: (-p[1], p[0]))

    # -- helpers

    def whole(self, piece: list[int]) -> bool:
        return self.block.groups[piece[0]].unit is not None

    def reaches(self, piece: list[int], j: int) -> bool:
        return j in self.block.groups[piece[0]].offers

    def room(self, j: int) -> int:
        return self.high[j] - self.total[j]

    def everything(self) -> int:
        return sum(self.total.values())

    def share_room(self, j: int, moving: bool = False) -> int:
        """Units offer j may still gain without breaking max_share: new units raise the service's
        total with them, units moved from another offer do not."""
        if self.share >= 1:
            return self.room(j)
        n, d = self.share.numerator, self.share.denominator
        slack = n * self.everything() - self.total[j] * d
        # new: (Q + x) d <= n (T + x), i.e. x (d - n) <= n T - Q d; moved: (Q + x) d <= n T
        return max(min(self.room(j), slack // (d if moving else d - n)), 0)

    def excess(self, j: int) -> int:
        """Units offer j must shed, moving them elsewhere, to keep to max_share."""
        if self.share >= 1:
            return 0
        n, d = self.share.numerator, self.share.denominator
        return max(self.total[j] - (n * self.everything()) // d, 0)

    def ordered(self, piece: list[int]) -> list[int]:
        g = piece[0]
        if g not in self.orders:
            offers = [j for j in self.block.groups[g].offers if j in self.total]
            self.orders[g] = sorted(offers, key=self.rank.__getitem__)
        return list(self.orders[g])

    def put(self, j: int, piece: list[int], units: int | None = None) -> None:
        """Place a piece (or `units` of a divisible one) on offer j."""
        units = piece[1] if units is None else units
        if units <= 0:
            return
        self.total[j] += units
        whole = self.whole(piece)
        if not whole and piece[0] in self.shared[j]:
            self.shared[j][piece[0]][1] += units
            return
        placed = [piece[0], units]
        self.pieces[j][id(placed)] = placed
        if not whole:
            self.shared[j][piece[0]] = placed

    def take(self, j: int, piece: list[int], units: int | None = None) -> list[int]:
        """Remove a piece (or `units` of a divisible one) from offer j; returns what was taken."""
        units = piece[1] if units is None else units
        self.total[j] -= units
        piece[1] -= units
        if piece[1] == 0:
            del self.pieces[j][id(piece)]
            self.shared[j].pop(piece[0], None)
        return [piece[0], units]

    def largest(self, j: int) -> list[list[int]]:
        return sorted(self.pieces[j].values(), key=lambda p: (-p[1], p[0]))

    def opens(self, j: int, units: int) -> bool:
        """Whether adding units to offer j leaves it at a permitted total."""
        after = self.total[j] + units
        return units <= self.room(j) and (after >= self.low[j])

    # -- steps

    def greedy(self, targets: Targets | None = None) -> None:
        """Largest piece first to the cheapest offer with room; with targets (units per reach and
        offer, e.g. from the block solved without single_source), to the offer furthest below
        its target first."""
        left: list[list[int]] = []
        for piece in self.loose:
            offers = self.ordered(piece)
            if targets is not None:
                reach = self.block.groups[piece[0]].offers
                offers.sort(key=lambda j: -targets.get((reach, j), 0))  # stable: then by rank
            for j in offers:
                if self.whole(piece):
                    if piece[1] <= self.room(j):
                        self.put(j, piece)
                        if targets is not None:
                            key = (self.block.groups[piece[0]].offers, j)
                            targets[key] = targets.get(key, 0) - piece[1]
                        piece = [piece[0], 0]
                        break
                else:
                    units = min(piece[1], self.room(j))
                    self.put(j, piece, units)
                    piece[1] -= units
                    if not piece[1]:
                        break
            if piece[1]:
                left.append(piece)
        self.loose = left

    def partial(self) -> None:
        """A school that fits whole nowhere gets part from the offer in reach with most room."""
        left: list[list[int]] = []
        for piece in self.loose:
            if self.whole(piece):
                offers = [j for j in self.ordered(piece) if self.room(j) > 0]
                if offers:
                    j = max(offers, key=self.room)
                    units = min(self.room(j), piece[1])
                    self.put(j, piece, units)
                    piece = [piece[0], piece[1] - units]
            if piece[1]:
                left.append(piece)
        self.loose = left

    def minimum_awards(self) -> None:
        """Offers below their minimum award are topped up from others, or else emptied."""
        for j in sorted(self.members, key=self.rank.__getitem__):
            if not 0 < self.total[j] < self.low[j]:
                continue
            for k in sorted(self.members, key=lambda k: (-self.total[k], k)):
                if k == j:
                    continue
                for piece in self.largest(k):
                    if self.total[j] >= self.low[j]:
                        break
                    slack = self.total[k] - self.low[k]
                    if not self.reaches(piece, j) or self.room(j) <= 0:
                        continue
                    units = piece[1] if self.whole(piece) else min(piece[1], self.room(j), slack)
                    if 0 < units <= slack and units <= self.room(j):
                        self.put(j, self.take(k, piece, units))
                if self.total[j] >= self.low[j]:
                    break
            if self.total[j] < self.low[j]:
                for piece in self.largest(j):
                    moved = self.take(j, piece)
                    for k in self.ordered(moved):
                        if k != j and self.total[k] > 0 and moved[1] <= self.room(k):
                            self.put(k, moved)
                            break
                    else:
                        self.loose.append(moved)

    def over_share(self) -> list[int]:
        if self.share >= 1:
            return []
        n, d = self.share.numerator, self.share.denominator
        everything = self.everything()
        return [j for j in self.members if self.total[j] * d > n * everything]

    def max_share(self) -> None:
        """Offers over max_share pass pieces, largest first, to offers with room, or drop some."""
        for _ in range(4 * len(self.members) + 4):
            over = self.over_share()
            if not over:
                return
            j = over[0]
            moved_any = False
            for piece in self.largest(j):
                if j not in self.over_share():
                    break
                for k in self.ordered(piece):
                    if k == j:
                        continue
                    cap = self.share_room(k, moving=True)
                    units = piece[1]
                    if not self.whole(piece):
                        units = min(units, cap, self.excess(j))
                    if units and units <= cap and self.opens(k, units):
                        self.put(k, self.take(j, piece, units))
                        moved_any = True
                        break
            if j in self.over_share() and not moved_any:
                # Nowhere to go: drop the smallest pieces until the share holds.
                for piece in sorted(self.pieces[j].values(), key=lambda p: (p[1], p[0])):
                    if j not in self.over_share():
                        break
                    self.loose.append(self.take(j, piece))
            if 0 < self.total[j] < self.low[j]:
                # Moved or dropped below its minimum award: empty it (fill() places the rest).
                for piece in list(self.pieces[j].values()):
                    self.loose.append(self.take(j, piece))

    def min_providers(self, wanted: int) -> None:
        """Open offers of unused providers, moving pieces onto them, until enough are used."""
        offers = self.block.offers
        for _ in range(wanted):
            used = {offers[j].offer.provider for j in self.members if self.total[j] > 0}
            if len(used) >= wanted:
                return
            candidates = [j for j in self.members if offers[j].offer.provider not in used]
            for j in sorted(candidates, key=self.rank.__getitem__):
                plan: list[tuple[int, list[int], int]] = []  # (from offer or -1, piece, units)
                gained = 0
                sources = [(-1, p) for p in sorted(self.loose, key=lambda p: (-p[1], p[0]))]
                for k in sorted(self.members, key=lambda k: (-self.total[k], k)):
                    if k != j:
                        sources.extend((k, p) for p in self.largest(k))
                taken: dict[int, int] = defaultdict(int)
                for k, piece in sources:
                    if gained >= self.low[j]:
                        break
                    if not self.reaches(piece, j):
                        continue
                    room = self.high[j] - gained
                    if k >= 0:
                        slack = self.total[k] - taken[k] - self.low[k]
                    else:
                        slack = piece[1]
                    want = self.low[j] - gained
                    if self.whole(piece):
                        units = piece[1]
                    else:
                        units = min(piece[1], room, slack, max(want, 0))
                    if 0 < units <= room and units <= slack:
                        plan.append((k, piece, units))
                        taken[k] += units
                        gained += units
                if gained < self.low[j]:
                    continue
                for k, piece, units in plan:
                    if k >= 0:
                        moved = self.take(k, piece, units)
                    else:
                        moved = [piece[0], units]
                        piece[1] -= units
                    self.put(j, moved)
                self.loose = [p for p in self.loose if p[1] > 0]
                break
            else:
                return

    def fill(self) -> None:
        """Place what is left over where it fits (open offers first), keeping every rule."""
        left: list[list[int]] = []
        for piece in sorted(self.loose, key=lambda p: (-p[1], p[0])):
            offers = self.ordered(piece)
            offers.sort(key=lambda j: self.total[j] == 0)  # stable: open offers first
            for j in offers:
                cap = self.share_room(j)
                units = piece[1] if self.whole(piece) else min(piece[1], cap)
                if units and units <= cap and self.opens(j, units):
                    self.put(j, piece, units)
                    piece = [piece[0], piece[1] - units]
                    if not piece[1]:
                        break
            if piece[1]:
                left.append(piece)
        self.loose = left


def heuristic(
    block: _Block, rules: Rules, targets: Targets | None = None, polish: bool = True
) -> Heuristic | None:
    """A feasible whole-unit allocation of the block meeting as much demand as the greedy and its
    repairs can, or None if they end with a rule broken (the exact search then starts cold).
    targets: units per reach (a group's offers) and offer the greedy step aims for; polish:
    under single_source, improve it by moving whole schools (`_State.polish`)."""
    targets = None if targets is None else dict(targets)
    purchases: list[dict[int, int]] = [{} for _ in block.groups]
    schools: list[dict[int, int]] = [{} for _ in block.groups]
    unmet = [group.quantity for group in block.groups]
    totals: dict[int, int] = {}
    for service in block.services:
        groups = [g for g, group in enumerate(block.groups) if group.service == service]
        state = _State(block, rules, service, groups)
        state.greedy(targets)
        state.partial()
        state.minimum_awards()
        state.max_share()
        if rules.min_providers >= 2:
            state.min_providers(rules.min_providers)
            state.max_share()
        state.fill()
        if rules.single_source and polish:
            polish_schools(state, rules.min_providers)
        for j in state.members:
            totals[j] = state.total[j]
            for g, units in state.pieces[j].values():
                purchases[g][j] = purchases[g].get(j, 0) + units
                unmet[g] -= units
                if block.groups[g].unit is not None:
                    schools[g][j] = schools[g].get(j, 0) + 1
    try:
        cost = cost_pence(block, totals)
    except ValueError:
        return None
    found = Heuristic(purchases, schools, unmet, cost)
    if violations(block, rules, found):
        return None
    return found
