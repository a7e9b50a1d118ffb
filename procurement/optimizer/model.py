"""The mixed-integer model of a round: usable offers and their price bands, groups of schools
("types") in blocks of services, and one block as a PuLP problem with its phases.

Pure: the standard library and PuLP only. HiGHS is sensitive to column order, so the model is
built in a fixed order (offers by id, services and schools sorted); keep it so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING

import pulp

from procurement.optimizer.instance import Demand, Instance, Offer, Rules

if TYPE_CHECKING:
    from procurement.optimizer.heuristic import Heuristic

# ---------------------------------------------------------------------------------------------
# Preparing the model: usable offers, their price bands, and groups of schools ("types")


@dataclass(frozen=True)
class _Band:
    tier: int
    low: int
    high: int
    unit_price_pence: int


@dataclass
class _OfferPlan:
    offer: Offer
    bands: list[_Band]


@dataclass
class _Group:
    service: str
    offers: tuple[int, ...]
    schools: list[tuple[str, int]]
    unit: int | None = None

    @cached_property
    def quantity(self) -> int:
        """The type's demand; read only once _plan has added every school."""
        return sum(quantity for _, quantity in self.schools)


# Schools merge into one group when they share a key: the offers they reach and, under
# single_source, their quantity; unmerged, each school is its own group.
_GroupKey = tuple[tuple[int, ...], int | None] | tuple[str]


@dataclass
class _Block:
    services: list[str]
    offers: list[_OfferPlan] = field(default_factory=list)
    groups: list[_Group] = field(default_factory=list)


@dataclass
class _Plan:
    blocks: list[_Block]
    eligible: dict[tuple[str, str], tuple[Offer, ...]]
    messages: dict[str, str]
    pledges: dict[str, list[Demand]]  # by service (sorted), each by school id


def _bands(offer: Offer, demand_cap: int) -> list[_Band]:
    bands = []
    for t, tier in enumerate(offer.tiers):
        low = max(tier.from_quantity, offer.smallest_award)
        high = min(offer.capacity, demand_cap)
        if t + 1 < len(offer.tiers):
            high = min(high, offer.tiers[t + 1].from_quantity - 1)
        if low <= high:
            bands.append(_Band(t, low, high, tier.unit_price_pence))
    return bands


def _share(rules: Rules) -> Fraction:
    return Fraction(str(rules.max_share))


def _precheck(service: str, offers: list[_OfferPlan], rules: Rules) -> str | None:
    """A reason the rules cannot hold for this service whatever the solver does, if there is one."""
    providers = sorted({plan.offer.provider for plan in offers})
    if rules.min_providers >= 1 and not offers:
        return f"min_providers {rules.min_providers}: no offer can serve {service}"
    if rules.min_providers > len(providers):
        return (
            f"min_providers {rules.min_providers} needs {rules.min_providers} providers"
            f" for {service}; {len(providers)} offers it"
        )
    share = _share(rules)
    if rules.min_providers >= 1 and share < 1:
        needed = math.ceil(1 / share)
        if needed > len(offers):
            if len(offers) == len(providers):
                return (
                    f"max_share {rules.max_share} needs {needed} providers for {service};"
                    f" {len(offers)} offers it"
                )
            return (
                f"max_share {rules.max_share} needs {needed} offers for {service};"
                f" {len(offers)} can serve it"
            )
    return None


def _plan(instance: Instance, merge: bool, split_services: bool) -> _Plan:
    rules = instance.rules
    offers_by_service: dict[str, list[Offer]] = defaultdict(list)
    for offer in sorted(instance.offers, key=lambda o: o.id):
        offers_by_service[offer.service].append(offer)
    pledges_by_service: dict[str, list[Demand]] = defaultdict(list)
    for pledge in sorted(instance.demand, key=attrgetter("service", "school")):
        pledges_by_service[pledge.service].append(pledge)

    eligible: dict[tuple[str, str], tuple[Offer, ...]] = {}
    messages: dict[str, str] = {}
    blocks: list[_Block] = []
    single = _Block(services=[])
    for service in sorted(pledges_by_service):
        candidates = offers_by_service.get(service, [])
        # Schools that reach the same offers share one pattern (the membership tests run in C).
        excluded = [frozenset(offer.excluded_schools) for offer in candidates]
        patterns: dict[tuple[bool, ...], tuple[tuple[int, ...], tuple[Offer, ...]]] = {}
        demand_by_pattern: dict[tuple[int, ...], int] = defaultdict(int)
        pledges: list[tuple[Demand, tuple[int, ...]]] = []
        for pledge in pledges_by_service[service]:
            school = pledge.school
            flags = tuple(map(frozenset.__contains__, excluded, repeat(school)))
            if flags not in patterns:
                serving = tuple(j for j, out in enumerate(flags) if not out)
                patterns[flags] = (serving, tuple(candidates[j] for j in serving))
            serving, offers = patterns[flags]
            eligible[(school, service)] = offers
            if pledge.quantity > 0:
                pledges.append((pledge, serving))
                demand_by_pattern[serving] += pledge.quantity
        offer_demand = [0] * len(candidates)
        for serving, quantity in demand_by_pattern.items():
            for j in serving:
                offer_demand[j] += quantity
        if not pledges:
            continue
        plans = [_OfferPlan(o, _bands(o, offer_demand[j])) for j, o in enumerate(candidates)]
        usable = [j for j, plan in enumerate(plans) if plan.bands and offer_demand[j] > 0]
        block = single if not split_services else _Block(services=[])
        block.services.append(service)
        base = len(block.offers)
        position = {j: base + n for n, j in enumerate(usable)}
        block.offers.extend(plans[j] for j in usable)
        reason = _precheck(service, [plans[j] for j in usable], rules)
        if reason:
            messages[service] = reason
        groups: dict[_GroupKey, _Group] = {}
        reaches = {
            serving: tuple(position[j] for j in serving if j in position)
            for serving in demand_by_pattern
        }
        for pledge, serving in pledges:
            reach = reaches[serving]
            unit = pledge.quantity if rules.single_source else None
            key = (reach, unit) if merge else (pledge.school,)
            if key not in groups:
                groups[key] = _Group(service, reach, [], unit)
            groups[key].schools.append((pledge.school, pledge.quantity))
        block.groups.extend(sorted(groups.values(), key=lambda g: g.schools[0][0]))
        if split_services:
            blocks.extend(_areas(block) if _decomposable(rules) else [block])
    if not split_services and single.services:
        blocks.append(single)
    return _Plan(
        blocks, eligible, messages, {s: pledges_by_service[s] for s in sorted(pledges_by_service)}
    )


def _decomposable(rules: Rules) -> bool:
    """Whether a service's rules bind only school by school, so that parts of it no offer spans
    can be solved apart: max_share and min_providers weigh every offer of the service together."""
    return _share(rules) >= 1 and rules.min_providers <= 1


def _areas(block: _Block) -> list[_Block]:
    """A one-service block cut into its independent parts: offers joined by a group that
    reaches both, with the groups they serve (e.g. the areas of a partnership whose providers
    serve different boroughs). The parts' optima add up to the block's. Groups no offer reaches
    stay with the first part; a block of one part is returned as it is. Deterministic: parts by
    their first offer, offers and groups in the block's order."""
    parent = list(range(len(block.offers)))

    def root(j: int) -> int:
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        return j

    for group in block.groups:
        for j in group.offers[1:]:
            a, b = root(group.offers[0]), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    roots = sorted({root(j) for j in range(len(block.offers))})
    if len(roots) <= 1:
        return [block]
    part_of = {r: n for n, r in enumerate(roots)}
    index: dict[int, int] = {}  # the block's offer index -> its index within its part
    parts = [_Block(services=list(block.services)) for _ in roots]
    for j, plan in enumerate(block.offers):
        part = parts[part_of[root(j)]]
        index[j] = len(part.offers)
        part.offers.append(plan)
    for group in block.groups:
        n = part_of[root(group.offers[0])] if group.offers else 0
        reach = tuple(index[j] for j in group.offers)
        parts[n].groups.append(_Group(group.service, reach, group.schools, group.unit))
    return [part for part in parts if part.groups]


def _relaxed(block: _Block) -> _Block:
    """The block without single_source: groups with the same service and reach merged, their
    schools free to split between offers. Its cheapest way to meet everything is a lower bound
    on the single-source block's (every single-source allocation is one of its allocations)."""
    merged: dict[tuple[str, tuple[int, ...]], _Group] = {}
    for group in block.groups:
        key = (group.service, group.offers)
        if key not in merged:
            merged[key] = _Group(group.service, group.offers, [])
        merged[key].schools.extend(group.schools)
    groups = sorted(merged.values(), key=lambda g: min(school for school, _ in g.schools))
    return _Block(block.services, block.offers, groups)


# ---------------------------------------------------------------------------------------------
# The mixed-integer model of one block


def _expr(terms: Iterable[tuple[pulp.LpVariable, float]]) -> pulp.LpAffineExpression:
    """A linear expression; coefficients of a variable that appears twice are added up."""
    summed: dict[pulp.LpVariable, float] = {}
    for variable, coefficient in terms:
        summed[variable] = summed.get(variable, 0) + coefficient
    return pulp.LpAffineExpression(list(summed.items()))


class _Model:
    """One block as a PuLP problem; phases switch the objective and the unmet-demand bounds.

    Only the choices are integer: which tier band each offer is awarded in (b), which providers
    count towards min_providers (w), how many schools of a type go to each offer under
    single_source (z), and each offer's total (t) when max_share applies. Once those are fixed
    the rest is a network flow with whole-number bounds, so a whole-unit optimum exists with
    the same cost; decided() re-solves for it when the solver's flows are fractional.
    """

    def __init__(self, block: _Block, rules: Rules) -> None:
        self.block = block
        self.lp = pulp.LpProblem("pooled", pulp.LpMinimize)
        lp = self.lp
        binary, integer, continuous = pulp.LpBinary, pulp.LpInteger, pulp.LpContinuous
        share = _share(rules)
        self.decisions: list[pulp.LpVariable] = []
        self.flows: list[pulp.LpVariable] = []
        cost: list[tuple[pulp.LpVariable, float]] = []
        self.opened: list[list[pulp.LpVariable]] = []
        self.volume: list[list[pulp.LpVariable]] = []
        self.totals: list[pulp.LpVariable] = []
        for j, plan in enumerate(block.offers):
            opened, volume = [], []
            for t, band in enumerate(plan.bands):
                b = pulp.LpVariable(f"b{j:05d}_{t}", cat=binary)
                q = pulp.LpVariable(f"q{j:05d}_{t}", lowBound=0, upBound=band.high, cat=continuous)
                lp += pulp.LpConstraint(_expr([(q, 1), (b, -band.low)]), pulp.LpConstraintGE)
                lp += pulp.LpConstraint(_expr([(q, 1), (b, -band.high)]), pulp.LpConstraintLE)
                cost.append((q, band.unit_price_pence))
                if plan.offer.setup_pence:
                    cost.append((b, plan.offer.setup_pence))
                opened.append(b)
                volume.append(q)
            if len(opened) > 1:
                lp += pulp.LpConstraint(_expr((b, 1) for b in opened), pulp.LpConstraintLE, rhs=1)
            self.opened.append(opened)
            self.volume.append(volume)
            self.decisions.extend(opened)
            self.flows.extend(volume)
            if share < 1:
                # max_share compares offers' totals, so those totals must be whole units.
                total = pulp.LpVariable(
                    f"t{j:05d}", lowBound=0, upBound=plan.bands[-1].high, cat=integer
                )
                lp += pulp.LpConstraint(
                    _expr([(total, 1)] + [(q, -1) for q in volume]), pulp.LpConstraintEQ
                )
                self.totals.append(total)
                self.decisions.append(total)
        self.cost = _expr(cost)

        self.y: list[dict[int, pulp.LpVariable]] = []
        self.z: list[dict[int, pulp.LpVariable]] = []
        self.providers: list[tuple[pulp.LpVariable, list[int]]] = []  # (w, its offers)
        self.unmet: list[pulp.LpVariable] = []
        takers: dict[int, list[pulp.LpVariable]] = defaultdict(list)
        for g, group in enumerate(block.groups):
            total = group.quantity
            u = pulp.LpVariable(f"u{g:06d}", lowBound=0, upBound=total)
            ys: dict[int, pulp.LpVariable] = {}
            zs: dict[int, pulp.LpVariable] = {}
            for j in group.offers:
                top = min(total, block.offers[j].bands[-1].high)
                y = pulp.LpVariable(f"y{g:06d}_{j:05d}", lowBound=0, upBound=top)
                ys[j] = y
                takers[j].append(y)
                if group.unit is not None:
                    size = len(group.schools)
                    z = pulp.LpVariable(f"z{g:06d}_{j:05d}", lowBound=0, upBound=size, cat=integer)
                    zs[j] = z
                    lp += pulp.LpConstraint(_expr([(y, 1), (z, -group.unit)]), pulp.LpConstraintLE)
            lp += pulp.LpConstraint(
                _expr([(y, 1) for y in ys.values()] + [(u, 1)]), pulp.LpConstraintEQ, rhs=total
            )
            if zs:
                lp += pulp.LpConstraint(
                    _expr((z, 1) for z in zs.values()), pulp.LpConstraintLE, rhs=len(group.schools)
                )
            self.y.append(ys)
            self.z.append(zs)
            self.unmet.append(u)
            self.decisions.extend(zs.values())
            self.flows.extend(ys.values())
            self.flows.append(u)
        for j in range(len(block.offers)):
            lp += pulp.LpConstraint(
                _expr([(y, 1) for y in takers[j]] + [(q, -1) for q in self.volume[j]]),
                pulp.LpConstraintEQ,
            )

        for service_index, service in enumerate(block.services):
            members = [j for j, plan in enumerate(block.offers) if plan.offer.service == service]
            if share < 1:
                everything = [(self.totals[j], -share.numerator) for j in members]
                for j in members:
                    own = [(self.totals[j], share.denominator)]
                    lp += pulp.LpConstraint(_expr(own + everything), pulp.LpConstraintLE)
            if rules.min_providers >= 1:
                by_provider: dict[str, list[int]] = defaultdict(list)
                for j in members:
                    by_provider[block.offers[j].offer.provider].append(j)
                if rules.min_providers == 1:
                    used = [(b, 1) for j in members for b in self.opened[j]]
                else:
                    used = []
                    for p, provider in enumerate(sorted(by_provider)):
                        w = pulp.LpVariable(f"w{service_index:04d}_{p:05d}", cat=binary)
                        opened = [(b, -1) for j in by_provider[provider] for b in self.opened[j]]
                        lp += pulp.LpConstraint(_expr([(w, 1)] + opened), pulp.LpConstraintLE)
                        used.append((w, 1))
                        self.decisions.append(w)
                        self.providers.append((w, by_provider[provider]))
                lp += pulp.LpConstraint(_expr(used), pulp.LpConstraintGE, rhs=rules.min_providers)
        self.unmet_total = _expr((u, 1) for u in self.unmet)

    def meet_everything(self) -> None:
        """Phase A: all demand met, minimise cost."""
        for u in self.unmet:
            u.upBound = 0
        self.lp.setObjective(self.cost)

    def meet_most(self) -> None:
        """Phase 1: minimise unmet units."""
        for u, group in zip(self.unmet, self.block.groups, strict=True):
            u.upBound = group.quantity
        self.lp.setObjective(self.unmet_total)

    def cheapest_meeting_most(self, unmet: int) -> None:
        """Phase 2: at most this many unmet units, minimise cost."""
        self.lp += pulp.LpConstraint(self.unmet_total, pulp.LpConstraintLE, rhs=unmet)
        self.lp.setObjective(self.cost)

    def whole(self) -> bool:
        """Whether the last solution's flows are whole units (to within 1e-6)."""
        return all(abs((v.varValue or 0) - round(v.varValue or 0)) <= 1e-6 for v in self.flows)

    @contextmanager
    def decided(self) -> Iterator[None]:
        """Fix the integer choices at the last solution's values and make the flows integer."""
        saved = [(v, v.lowBound, v.upBound) for v in self.decisions]
        for v in self.decisions:
            value = round(v.varValue or 0)
            v.lowBound = v.upBound = value
        for v in self.flows:
            v.cat = pulp.LpInteger
        try:
            yield
        finally:
            for v, low, high in saved:
                v.lowBound, v.upBound = low, high
            for v in self.flows:
                v.cat = pulp.LpContinuous

    def values(self) -> tuple[list[dict[int, int]], list[int]]:
        """Whole-unit purchases per group and offer, read from the last solution."""
        purchases = [
            {j: round(y.varValue or 0) for j, y in ys.items() if round(y.varValue or 0) > 0}
            for ys in self.y
        ]
        unmet = [round(u.varValue or 0) for u in self.unmet]
        return purchases, unmet

    def start_values(self, start: Heuristic) -> dict[pulp.LpVariable, float]:
        """Every variable's value for a heuristic allocation of this block (a MIP start)."""
        values: dict[pulp.LpVariable, float] = {v: 0.0 for v in self.lp.variables()}
        totals: dict[int, int] = defaultdict(int)
        for g, bought in enumerate(start.purchases):
            for j, units in bought.items():
                values[self.y[g][j]] = units
                totals[j] += units
            for j, schools in start.schools[g].items():
                if j in self.z[g]:
                    values[self.z[g][j]] = schools
            values[self.unmet[g]] = start.unmet[g]
        for j, plan in enumerate(self.block.offers):
            total = totals.get(j, 0)
            for t, band in enumerate(plan.bands):
                if total and band.low <= total <= band.high:
                    values[self.opened[j][t]] = 1
                    values[self.volume[j][t]] = total
            if self.totals:
                values[self.totals[j]] = total
        for w, offers in self.providers:
            values[w] = 1 if any(totals.get(j, 0) for j in offers) else 0
        return values

    def set_start(self, start: Heuristic | None) -> None:
        """Set every variable's value to the start's (or clear them), for the solver to read."""
        if start is None:
            for v in self.lp.variables():
                v.varValue = None
            return
        for v, value in self.start_values(start).items():
            v.varValue = value

    def broken(self, values: dict[pulp.LpVariable, float]) -> list[str]:
        """The constraints, bounds and integralities these values break (for tests)."""
        found = []
        for v in self.lp.variables():
            x = values.get(v, 0.0)
            if v.lowBound is not None and x < v.lowBound - 1e-9:
                found.append(f"{v.name} below its lower bound")
            if v.upBound is not None and x > v.upBound + 1e-9:
                found.append(f"{v.name} above its upper bound")
            if v.cat == pulp.LpInteger and abs(x - round(x)) > 1e-9:
                found.append(f"{v.name} not whole")
        for name, constraint in self.lp.constraints.items():
            side = sum(c * values.get(v, 0.0) for v, c in constraint.items()) + constraint.constant
            if constraint.sense == pulp.LpConstraintLE and side > 1e-9:
                found.append(name)
            elif constraint.sense == pulp.LpConstraintGE and side < -1e-9:
                found.append(name)
            elif constraint.sense == pulp.LpConstraintEQ and abs(side) > 1e-9:
                found.append(name)
        return found
