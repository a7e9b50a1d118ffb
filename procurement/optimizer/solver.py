"""The pooled-buying aggregator: allocate schools' pledged demand across offers at least cost.

Pure module: imports the standard library, PuLP and (through PuLP) highspy, and the pure money
module for its one largest-remainder split — never Flask, SQLAlchemy or the app's database.
The instance and result formats, the sharing rule and the model are
described in docs/aggregator.md.

    python -m procurement.optimizer INSTANCE.json [--solver highs|cbc] [--time-limit SECONDS]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import Any

import pulp

from app.money import largest_remainder

OPTIMAL = "optimal"
TIME_LIMIT = "time_limit"
INFEASIBLE = "infeasible"
STATUSES = (OPTIMAL, TIME_LIMIT, INFEASIBLE)

HIGHS = "highs"
CBC = "cbc"
SOLVERS = (HIGHS, CBC)

# Every objective the solver sees is a whole number (pence or units), so a proven bound less than
# one unit below the best solution proves that solution optimal: the solver is asked for that.
_ABSOLUTE_GAP = 0.999
# A solve stopped by the time limit still counts as optimal within this relative gap.
OPTIMALITY_GAP = 1e-4


class InstanceError(ValueError):
    """An instance that cannot be solved as given; ``field`` names the offending input."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


# ---------------------------------------------------------------------------------------------
# Instance


@dataclass(frozen=True)
class School:
    """A school taking part in the round."""

    id: str


@dataclass(frozen=True)
class Demand:
    """A school's pledge: units of one service it wants to buy."""

    school: str
    service: str
    quantity: int


@dataclass(frozen=True)
class Tier:
    """An all-units price band: from this total quantity on, every unit costs unit_price_pence."""

    from_quantity: int
    unit_price_pence: int


@dataclass(frozen=True)
class Offer:
    """A provider's offer for one service: capacity, all-units tiers and terms."""

    id: str
    provider: str
    service: str
    capacity: int
    tiers: tuple[Tier, ...]
    min_award: int = 0
    setup_pence: int = 0
    excluded_schools: frozenset[str] = frozenset()

    @property
    def smallest_award(self) -> int:
        """The least positive quantity this offer may be awarded (min_award, first tier, 1)."""
        return max(self.min_award, self.tiers[0].from_quantity, 1)

    def tier_index(self, quantity: int) -> int | None:
        """Index of the tier a total award of quantity falls in; None below the first tier."""
        index = bisect_right([tier.from_quantity for tier in self.tiers], quantity) - 1
        return index if index >= 0 else None

    def can_award(self, quantity: int) -> bool:
        """Whether quantity is a permitted total award (0, or within minimum and capacity)."""
        return quantity == 0 or self.smallest_award <= quantity <= self.capacity

    def cost_pence(self, quantity: int) -> int:
        """Cost of awarding quantity in total: every unit at its tier's price, plus set-up."""
        if not self.can_award(quantity):
            raise ValueError(f"offer {self.id} cannot be awarded {quantity}")
        if quantity == 0:
            return 0
        index = self.tier_index(quantity)
        assert index is not None
        return quantity * self.tiers[index].unit_price_pence + self.setup_pence

    def serves(self, school: str) -> bool:
        """Whether the school may buy from this offer."""
        return school not in self.excluded_schools


@dataclass(frozen=True)
class Rules:
    """The committee's side constraints on a round."""

    max_share: float = 1.0
    min_providers: int = 1
    single_source: bool = False


@dataclass(frozen=True)
class Instance:
    """A round to aggregate: schools, their pledges, the offers and the rules."""

    schools: tuple[School, ...]
    demand: tuple[Demand, ...]
    offers: tuple[Offer, ...]
    rules: Rules = Rules()


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(value: object, where: str, minimum: int = 0) -> None:
    if not _is_whole(value):
        raise InstanceError(where, f"must be a whole number, got {value!r}")
    assert isinstance(value, int)
    if value < minimum:
        raise InstanceError(where, f"must be >= {minimum}, got {value}")


def _text(value: object, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise InstanceError(where, f"must be a non-empty string, got {value!r}")


def validate_instance(instance: Instance) -> None:
    """Raise InstanceError naming the first field that is wrong; positions are input order."""
    school_ids: set[str] = set()
    for i, school in enumerate(instance.schools):
        _text(school.id, f"schools[{i}].id")
        if school.id in school_ids:
            raise InstanceError(f"schools[{i}].id", f"duplicate school id {school.id!r}")
        school_ids.add(school.id)

    pledged: dict[tuple[str, str], int] = {}
    for i, pledge in enumerate(instance.demand):
        where = f"demand[{i}]"
        _text(pledge.school, f"{where}.school")
        if pledge.school not in school_ids:
            raise InstanceError(f"{where}.school", f"unknown school {pledge.school!r}")
        _text(pledge.service, f"{where}.service")
        _whole(pledge.quantity, f"{where}.quantity")
        key = (pledge.school, pledge.service)
        if key in pledged:
            raise InstanceError(
                where,
                f"duplicate pledge for school {pledge.school!r} and service {pledge.service!r}"
                f" (also demand[{pledged[key]}])",
            )
        pledged[key] = i

    offer_ids: set[str] = set()
    for i, offer in enumerate(instance.offers):
        where = f"offers[{i}]"
        _text(offer.id, f"{where}.id")
        if offer.id in offer_ids:
            raise InstanceError(f"{where}.id", f"duplicate offer id {offer.id!r}")
        offer_ids.add(offer.id)
        _text(offer.provider, f"{where}.provider")
        _text(offer.service, f"{where}.service")
        _whole(offer.capacity, f"{where}.capacity")
        if not offer.tiers:
            raise InstanceError(f"{where}.tiers", "needs at least one tier")
        for t, tier in enumerate(offer.tiers):
            _whole(tier.from_quantity, f"{where}.tiers[{t}].from")
            _whole(tier.unit_price_pence, f"{where}.tiers[{t}].unit_price_pence")
            if t and tier.from_quantity <= offer.tiers[t - 1].from_quantity:
                raise InstanceError(f"{where}.tiers[{t}].from", "tiers must be ascending")
        _whole(offer.min_award, f"{where}.min_award")
        _whole(offer.setup_pence, f"{where}.setup_pence")
        for school in sorted(offer.excluded_schools, key=str):
            if school not in school_ids:
                raise InstanceError(f"{where}.excluded_schools", f"unknown school {school!r}")

    rules = instance.rules
    share = rules.max_share
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 < share <= 1:
        raise InstanceError("rules.max_share", f"must be a number in (0, 1], got {share!r}")
    _whole(rules.min_providers, "rules.min_providers")
    if not isinstance(rules.single_source, bool):
        raise InstanceError(
            "rules.single_source", f"must be true or false, got {rules.single_source!r}"
        )


def _fields(raw: object, where: str, required: Sequence[str], optional: Sequence[str]) -> dict:
    if not isinstance(raw, Mapping):
        raise InstanceError(where or "instance", f"must be an object, got {type(raw).__name__}")
    for key in raw:
        if key not in required and key not in optional:
            raise InstanceError(f"{where}.{key}" if where else str(key), "unknown field")
    for key in required:
        if key not in raw:
            raise InstanceError(f"{where}.{key}" if where else key, "is required")
    return dict(raw)


def _list(raw: object, where: str) -> list:
    if not isinstance(raw, list):
        raise InstanceError(where, f"must be a list, got {type(raw).__name__}")
    return raw


def instance_from_json(data: object) -> Instance:
    """Build and validate an Instance from parsed JSON; raise InstanceError naming the field."""
    top = _fields(data, "", ("schools", "demand", "offers"), ("rules",))
    schools = []
    for i, raw in enumerate(_list(top["schools"], "schools")):
        item = _fields(raw, f"schools[{i}]", ("id",), ())
        schools.append(School(id=item["id"]))
    demand = []
    for i, raw in enumerate(_list(top["demand"], "demand")):
        item = _fields(raw, f"demand[{i}]", ("school", "service", "quantity"), ())
        demand.append(Demand(item["school"], item["service"], item["quantity"]))
    offers = []
    offer_required = ("id", "provider", "service", "capacity", "tiers")
    offer_optional = ("min_award", "setup_pence", "excluded_schools")
    for i, raw in enumerate(_list(top["offers"], "offers")):
        where = f"offers[{i}]"
        item = _fields(raw, where, offer_required, offer_optional)
        tiers = []
        for t, raw_tier in enumerate(_list(item["tiers"], f"{where}.tiers")):
            tier = _fields(raw_tier, f"{where}.tiers[{t}]", ("from", "unit_price_pence"), ())
            tiers.append(Tier(tier["from"], tier["unit_price_pence"]))
        excluded = _list(item.get("excluded_schools", []), f"{where}.excluded_schools")
        for e, school in enumerate(excluded):
            _text(school, f"{where}.excluded_schools[{e}]")
        offers.append(
            Offer(
                id=item["id"],
                provider=item["provider"],
                service=item["service"],
                capacity=item["capacity"],
                tiers=tuple(tiers),
                min_award=item.get("min_award", 0),
                setup_pence=item.get("setup_pence", 0),
                excluded_schools=frozenset(excluded),
            )
        )
    rules_raw = _fields(
        top.get("rules", {}), "rules", (), ("max_share", "min_providers", "single_source")
    )
    rules = Rules(
        max_share=rules_raw.get("max_share", 1.0),
        min_providers=rules_raw.get("min_providers", 1),
        single_source=rules_raw.get("single_source", False),
    )
    instance = Instance(tuple(schools), tuple(demand), tuple(offers), rules)
    validate_instance(instance)
    return instance


def instance_to_json(instance: Instance) -> dict[str, Any]:
    """The JSON form of an instance (the inverse of instance_from_json)."""
    return {
        "schools": [{"id": school.id} for school in instance.schools],
        "demand": [
            {"school": d.school, "service": d.service, "quantity": d.quantity}
            for d in instance.demand
        ],
        "offers": [
            {
                "id": offer.id,
                "provider": offer.provider,
                "service": offer.service,
                "capacity": offer.capacity,
                "tiers": [
                    {"from": tier.from_quantity, "unit_price_pence": tier.unit_price_pence}
                    for tier in offer.tiers
                ],
                "min_award": offer.min_award,
                "setup_pence": offer.setup_pence,
                "excluded_schools": sorted(offer.excluded_schools),
            }
            for offer in instance.offers
        ],
        "rules": {
            "max_share": instance.rules.max_share,
            "min_providers": instance.rules.min_providers,
            "single_source": instance.rules.single_source,
        },
    }


# ---------------------------------------------------------------------------------------------
# Result


@dataclass(frozen=True)
class Award:
    """What one offer is awarded in total, the tier that total reaches and what it costs."""

    offer: str
    provider: str
    service: str
    quantity: int
    tier: int
    unit_price_pence: int
    setup_pence: int
    cost_pence: int


@dataclass(frozen=True)
class Allocation:
    """Units of a service one school buys from one offer."""

    school: str
    service: str
    offer: str
    quantity: int


@dataclass(frozen=True)
class Unmet:
    """Units of a school's pledge that no allocation could meet."""

    school: str
    service: str
    quantity: int


@dataclass(frozen=True)
class Charge:
    """A school's share of the pooled cost of one service, beside what it would pay alone."""

    school: str
    service: str
    quantity: int
    met: int
    standalone_pence: int | None
    basis_pence: int
    charge_pence: int


@dataclass(frozen=True)
class ServiceCheck:
    """Individual rationality of one service's charges: who pays more than alone, if anyone."""

    service: str
    pooled_pence: int
    standalone_sum_pence: int | None
    must_hold: bool
    violations: tuple[str, ...]

    @property
    def individually_rational(self) -> bool:
        """True when no school is charged more than its stand-alone price."""
        return not self.violations


@dataclass(frozen=True)
class Seconds:
    """Wall-clock seconds: building models, inside the solver, and the whole solve() call."""

    build: float
    solve: float
    total: float


@dataclass(frozen=True)
class ModelSize:
    """How big the solved models were, summed over the models solved."""

    merged: bool
    models: int
    solver_runs: int
    groups: int
    columns: int
    integer_columns: int
    rows: int


@dataclass(frozen=True)
class Result:
    """The aggregator's answer: status, integer objective, awards, allocations and charges."""

    status: str
    message: str | None
    objective_pence: int | None
    bound_pence: int | None
    gap: float | None
    solver: str
    seconds: Seconds
    awards: tuple[Award, ...] = ()
    allocations: tuple[Allocation, ...] = ()
    unmet: tuple[Unmet, ...] = ()
    charges: tuple[Charge, ...] = ()
    checks: tuple[ServiceCheck, ...] = ()
    model: ModelSize | None = None


def result_to_json(result: Result) -> dict[str, Any]:
    """The JSON form of a result (see docs/aggregator.md)."""
    return {
        "status": result.status,
        "message": result.message,
        "objective_pence": result.objective_pence,
        "bound_pence": result.bound_pence,
        "gap": result.gap,
        "solver": result.solver,
        "seconds": {
            "build": round(result.seconds.build, 4),
            "solve": round(result.seconds.solve, 4),
            "total": round(result.seconds.total, 4),
        },
        "awards": [
            {
                "offer": a.offer,
                "provider": a.provider,
                "service": a.service,
                "quantity": a.quantity,
                "tier": a.tier,
                "unit_price_pence": a.unit_price_pence,
                "setup_pence": a.setup_pence,
                "cost_pence": a.cost_pence,
            }
            for a in result.awards
        ],
        "allocations": [
            {"school": a.school, "service": a.service, "offer": a.offer, "quantity": a.quantity}
            for a in result.allocations
        ],
        "unmet": [
            {"school": u.school, "service": u.service, "quantity": u.quantity} for u in result.unmet
        ],
        "charges": [
            {
                "school": c.school,
                "service": c.service,
                "quantity": c.quantity,
                "met": c.met,
                "standalone_pence": c.standalone_pence,
                "basis_pence": c.basis_pence,
                "charge_pence": c.charge_pence,
            }
            for c in result.charges
        ],
        "checks": [
            {
                "service": c.service,
                "pooled_pence": c.pooled_pence,
                "standalone_sum_pence": c.standalone_sum_pence,
                "must_hold": c.must_hold,
                "individually_rational": c.individually_rational,
                "violations": list(c.violations),
            }
            for c in result.checks
        ],
        "model": None
        if result.model is None
        else {
            "merged": result.model.merged,
            "models": result.model.models,
            "solver_runs": result.model.solver_runs,
            "groups": result.model.groups,
            "columns": result.model.columns,
            "integer_columns": result.model.integer_columns,
            "rows": result.model.rows,
        },
    }


# ---------------------------------------------------------------------------------------------
# Stand-alone prices


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

    @property
    def quantity(self) -> int:
        return sum(quantity for _, quantity in self.schools)


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
    for pledge in sorted(instance.demand, key=lambda d: (d.service, d.school)):
        pledges_by_service[pledge.service].append(pledge)

    eligible: dict[tuple[str, str], tuple[Offer, ...]] = {}
    messages: dict[str, str] = {}
    blocks: list[_Block] = []
    single = _Block(services=[])
    for service in sorted(pledges_by_service):
        pledges = [p for p in pledges_by_service[service] if p.quantity > 0]
        candidates = offers_by_service.get(service, [])
        for pledge in pledges_by_service[service]:
            eligible[(pledge.school, service)] = tuple(
                o for o in candidates if o.serves(pledge.school)
            )
        if not pledges:
            continue
        offer_demand = [0] * len(candidates)
        for pledge in pledges:
            for j, offer in enumerate(candidates):
                if offer.serves(pledge.school):
                    offer_demand[j] += pledge.quantity
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
        groups: dict[tuple, _Group] = {}
        for pledge in pledges:
            reach = tuple(position[j] for j in usable if candidates[j].serves(pledge.school))
            unit = pledge.quantity if rules.single_source else None
            key = (reach, unit) if merge else (pledge.school,)
            if key not in groups:
                groups[key] = _Group(service, reach, [], unit)
            groups[key].schools.append((pledge.school, pledge.quantity))
        block.groups.extend(sorted(groups.values(), key=lambda g: g.schools[0][0]))
        if split_services:
            blocks.append(block)
    if not split_services and single.services:
        blocks.append(single)
    return _Plan(blocks, eligible, messages)


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
        self.unmet: list[pulp.LpVariable] = []
        takers: dict[int, list[pulp.LpVariable]] = defaultdict(list)
        for g, group in enumerate(block.groups):
            total = group.quantity
            u = pulp.LpVariable(f"u{g:06d}", lowBound=0, upBound=total)
            ys: dict[int, pulp.LpVariable] = {}
            zs: list[pulp.LpVariable] = []
            for j in group.offers:
                top = min(total, block.offers[j].bands[-1].high)
                y = pulp.LpVariable(f"y{g:06d}_{j:05d}", lowBound=0, upBound=top)
                ys[j] = y
                takers[j].append(y)
                if group.unit is not None:
                    size = len(group.schools)
                    z = pulp.LpVariable(f"z{g:06d}_{j:05d}", lowBound=0, upBound=size, cat=integer)
                    zs.append(z)
                    lp += pulp.LpConstraint(_expr([(y, 1), (z, -group.unit)]), pulp.LpConstraintLE)
            lp += pulp.LpConstraint(
                _expr([(y, 1) for y in ys.values()] + [(u, 1)]), pulp.LpConstraintEQ, rhs=total
            )
            if zs:
                lp += pulp.LpConstraint(
                    _expr((z, 1) for z in zs), pulp.LpConstraintLE, rhs=len(group.schools)
                )
            self.y.append(ys)
            self.unmet.append(u)
            self.decisions.extend(zs)
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


# ---------------------------------------------------------------------------------------------
# Running a solver


@dataclass(frozen=True)
class _Run:
    status: str  # optimal, time_limit, infeasible or none (stopped before any solution)
    objective: float | None
    bound: float | None
    seconds: float


@cache
def solver_name(solver: str) -> str:
    """The solver's name and version, e.g. 'HiGHS 1.15.1'."""
    if solver == HIGHS:
        import highspy

        return f"HiGHS {highspy.Highs().version()}"
    path = pulp.PULP_CBC_CMD().path
    try:
        banner = subprocess.run(
            [path], input="quit\n", capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        banner = ""
    found = re.search(r"Version:\s*(\S+)", banner)
    return f"CBC {found.group(1)}" if found else "CBC"


def _run(lp: pulp.LpProblem, solver: str, time_limit: float | None) -> _Run:
    started = time.perf_counter()
    if solver == HIGHS:
        import highspy

        engine = pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=0.0, gapAbs=_ABSOLUTE_GAP)
        lp.solve(engine)
        seconds = time.perf_counter() - started
        highs = lp.solverModel
        status = highs.getModelStatus()
        info = highs.getInfo()
        kinds = highspy.HighsModelStatus
        found = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if status == kinds.kOptimal:
            return _Run(OPTIMAL, info.objective_function_value, info.mip_dual_bound, seconds)
        if status in (kinds.kInfeasible, kinds.kUnboundedOrInfeasible):
            return _Run(INFEASIBLE, None, None, seconds)
        if status in (kinds.kTimeLimit, kinds.kInterrupt, kinds.kIterationLimit):
            if found:
                objective = info.objective_function_value
                return _Run(TIME_LIMIT, objective, info.mip_dual_bound, seconds)
            return _Run("none", None, None, seconds)
        raise RuntimeError(f"HiGHS stopped with {highs.modelStatusToString(status)}")

    handle, log_path = tempfile.mkstemp(prefix="pooled-cbc-", suffix=".log")
    os.close(handle)
    try:
        engine = pulp.PULP_CBC_CMD(
            msg=False, timeLimit=time_limit, gapRel=0.0, gapAbs=_ABSOLUTE_GAP, logPath=log_path
        )
        lp.solve(engine)
        with open(log_path, encoding="utf-8", errors="replace") as log:
            text = log.read()
    finally:
        os.unlink(log_path)
    seconds = time.perf_counter() - started
    if lp.status == pulp.LpStatusInfeasible:
        return _Run(INFEASIBLE, None, None, seconds)
    if lp.status != pulp.LpStatusOptimal:
        return _Run("none", None, None, seconds)
    objective = pulp.value(lp.objective) or 0.0
    if lp.sol_status == pulp.LpSolutionOptimal:
        return _Run(OPTIMAL, objective, objective, seconds)
    found = re.search(r"Lower bound:\s*(\S+)", text)
    bound = float(found.group(1)) if found else None
    return _Run(TIME_LIMIT, objective, bound, seconds)


# ---------------------------------------------------------------------------------------------
# Solving blocks


@dataclass
class _Outcome:
    status: str  # optimal, time_limit, infeasible, none
    purchases: list[dict[int, int]]
    unmet: list[int]
    bound: float | None


@dataclass
class _Clock:
    started: float
    limit: float | None
    build: float = 0.0
    solve: float = 0.0
    runs: int = 0

    def left(self, share_of: int = 1) -> float | None:
        if self.limit is None:
            return None
        remaining = self.limit - (time.perf_counter() - self.started)
        return max(remaining, 0.0) / max(share_of, 1)


def _could_meet_everything(block: _Block) -> bool:
    """A cheap necessary condition: every group and service has enough capacity within reach."""
    for group in block.groups:
        if sum(block.offers[j].bands[-1].high for j in group.offers) < group.quantity:
            return False
    for service in block.services:
        wanted = sum(g.quantity for g in block.groups if g.service == service)
        offered = sum(p.bands[-1].high for p in block.offers if p.offer.service == service)
        if offered < wanted:
            return False
    return True


def _settled(run: _Run) -> str:
    """OPTIMAL if proven optimal, or stopped by the time limit within the 1e-4 optimality gap."""
    if run.status == TIME_LIMIT and run.objective is not None and run.bound is not None:
        if run.objective - run.bound <= OPTIMALITY_GAP * max(abs(run.objective), 1.0):
            return OPTIMAL
    return run.status


def _make_whole(model: _Model, solve_again: Callable[[], _Run]) -> None:
    """Turn the last solution into whole units at no extra cost (see _Model)."""
    if model.whole():
        return
    with model.decided():
        repaired = solve_again()
    if repaired.status != OPTIMAL or not model.whole():
        raise RuntimeError("could not turn the solver's allocation into whole units")


def _solve_block(block: _Block, rules: Rules, solver: str, clock: _Clock, share_of: int):
    started = time.perf_counter()
    model = _Model(block, rules)
    clock.build += time.perf_counter() - started
    nothing = [dict() for _ in block.groups], [g.quantity for g in block.groups]

    def run(limited: bool = True) -> _Run:
        result = _run(model.lp, solver, clock.left(share_of) if limited else None)
        clock.solve += result.seconds
        clock.runs += 1
        return result

    def make_whole() -> None:
        # With the choices fixed the model is a network flow: quick, so never time-limited.
        _make_whole(model, lambda: run(limited=False))

    if _could_meet_everything(block):
        model.meet_everything()
        first = run()
        if first.status in (OPTIMAL, TIME_LIMIT):
            make_whole()
            return _Outcome(_settled(first), *model.values(), first.bound), model
        if first.status == "none":
            return _Outcome("none", *nothing, None), model
    model.meet_most()
    most = run()
    if most.status in (INFEASIBLE, "none"):
        return _Outcome(most.status, *nothing, None), model
    make_whole()
    fallback = model.values()
    # The fewest unmet units: a whole number, and no more than the incumbent's (fractional) sum.
    fewest = math.floor((most.objective or 0.0) + 1e-6)
    model.cheapest_meeting_most(fewest)
    cheapest = run()
    if cheapest.status in (OPTIMAL, TIME_LIMIT):
        make_whole()
        status = OPTIMAL if most.status == _settled(cheapest) == OPTIMAL else TIME_LIMIT
        return _Outcome(status, *model.values(), cheapest.bound), model
    # Out of time before phase 2 found anything: keep phase 1's allocation, cost unbounded.
    return _Outcome(TIME_LIMIT, *fallback, None), model


# ---------------------------------------------------------------------------------------------
# From group purchases back to schools


def _split_group(group: _Group, purchases: dict[int, int], offers: list[_OfferPlan]):
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
    queue = [[school, share] for (school, _), share in zip(schools, shares, strict=True)]
    cursor = 0
    for offer_id, units in bought:
        while units > 0:
            while queue[cursor][1] == 0:
                cursor += 1
            take = min(units, queue[cursor][1])
            allocations.append((queue[cursor][0], offer_id, take))
            queue[cursor][1] -= take
            units -= take
    return allocations, met


def _charges(
    instance: Instance,
    plan: _Plan,
    met: dict[tuple[str, str], int],
    pooled: dict[str, int],
) -> tuple[list[Charge], list[ServiceCheck]]:
    """Share each service's pooled cost in proportion to stand-alone cost (docs/aggregator.md)."""
    by_service: dict[str, list[Demand]] = defaultdict(list)
    for pledge in sorted(instance.demand, key=lambda d: (d.service, d.school)):
        by_service[pledge.service].append(pledge)
    charges: list[Charge] = []
    checks: list[ServiceCheck] = []
    standalone_cache: dict[tuple, int | None] = {}
    for service in sorted(by_service):
        rows = []
        for pledge in by_service[service]:
            offers = plan.eligible[(pledge.school, service)]
            key = (tuple(o.id for o in offers), pledge.quantity)
            if key not in standalone_cache:
                standalone_cache[key] = standalone_pence(offers, pledge.school, pledge.quantity)
            alone = standalone_cache[key]
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
        alone_sum = None if any(a is None for a in alones) else sum(alones)  # type: ignore[misc]
        all_met = all(got == pledge.quantity for pledge, _, got, _ in rows)
        must_hold = alone_sum is not None and all_met and total <= alone_sum
        checks.append(ServiceCheck(service, total, alone_sum, must_hold, tuple(violations)))
    charges.sort(key=lambda c: (c.school, c.service))
    return charges, checks


# ---------------------------------------------------------------------------------------------
# Solving an instance


def solve(
    instance: Instance,
    *,
    solver: str = HIGHS,
    time_limit: float | None = None,
    merge: bool = True,
    split_services: bool = True,
) -> Result:
    """Allocate the pledges: meet as much demand as possible, then at least total cost.

    merge groups schools with the same service, reachable offers (and, under single_source,
    quantity) into one type; split_services solves each service as its own model. Both give the
    same optimum as the plain school-by-school model (solve_plain) in far less time.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if time_limit is not None and time_limit <= 0:
        raise ValueError(f"time_limit must be positive, got {time_limit}")
    validate_instance(instance)
    started = time.perf_counter()
    clock = _Clock(started, time_limit)
    plan = _plan(instance, merge, split_services)
    clock.build += time.perf_counter() - started
    name = solver_name(solver)

    infeasible = [plan.messages[s] for s in sorted(plan.messages)]
    awards: list[Award] = []
    allocations: list[Allocation] = []
    met: dict[tuple[str, str], int] = {}
    pooled: dict[str, int] = defaultdict(int)
    statuses: list[str] = []
    bound_total: float | None = 0.0
    notes: list[str] = []
    columns = integers = rows = models = 0
    blocks = [b for b in plan.blocks if not any(s in plan.messages for s in b.services)]
    if infeasible:
        blocks = []
    for n, block in enumerate(blocks):
        outcome, model = _solve_block(block, instance.rules, solver, clock, len(blocks) - n)
        models += 1
        columns += model.lp.numVariables()
        integers += sum(1 for v in model.lp.variables() if v.cat == pulp.LpInteger)
        rows += model.lp.numConstraints()
        if outcome.status == INFEASIBLE:
            names = ", ".join(block.services)
            infeasible.append(
                f"no allocation of {names} meets the rules (max_share"
                f" {instance.rules.max_share}, min_providers {instance.rules.min_providers},"
                f" single_source {str(instance.rules.single_source).lower()}) within the"
                " offers' capacity, minimum awards and exclusions"
            )
            continue
        if outcome.status == "none":
            notes.append(
                f"no allocation of {', '.join(block.services)} found within the time limit;"
                " its demand is reported unmet"
            )
            statuses.append(TIME_LIMIT)
            bound_total = None
        else:
            statuses.append(outcome.status)
            if outcome.bound is None or bound_total is None:
                bound_total = None
            else:
                bound_total += outcome.bound
        totals: dict[int, int] = defaultdict(int)
        for group, purchases in zip(block.groups, outcome.purchases, strict=True):
            for j, units in purchases.items():
                totals[j] += units
            split, got = _split_group(group, purchases, block.offers)
            for school, offer_id, units in split:
                allocations.append(Allocation(school, group.service, offer_id, units))
            for school, units in got.items():
                met[(school, group.service)] = units
        for j in sorted(totals, key=lambda j: block.offers[j].offer.id):
            offer = block.offers[j].offer
            quantity = totals[j]
            tier = offer.tier_index(quantity)
            if tier is None or not offer.can_award(quantity):
                raise RuntimeError(
                    f"solver awarded offer {offer.id} {quantity}, which it cannot take"
                )
            cost = offer.cost_pence(quantity)
            price = offer.tiers[tier].unit_price_pence
            awards.append(
                Award(
                    offer.id,
                    offer.provider,
                    offer.service,
                    quantity,
                    tier,
                    price,
                    offer.setup_pence,
                    cost,
                )
            )
            pooled[offer.service] += cost
    size = ModelSize(
        merge, models, clock.runs, sum(len(b.groups) for b in blocks), columns, integers, rows
    )

    if infeasible:
        total = time.perf_counter() - started
        return Result(
            status=INFEASIBLE,
            message="; ".join(infeasible),
            objective_pence=None,
            bound_pence=None,
            gap=None,
            solver=name,
            seconds=Seconds(clock.build, clock.solve, total),
            model=size,
        )

    unmet = []
    for pledge in sorted(instance.demand, key=lambda d: (d.school, d.service)):
        short = pledge.quantity - met.get((pledge.school, pledge.service), 0)
        if short > 0:
            unmet.append(Unmet(pledge.school, pledge.service, short))
    charges, checks = _charges(instance, plan, met, pooled)
    objective = sum(award.cost_pence for award in awards)
    status = TIME_LIMIT if TIME_LIMIT in statuses else OPTIMAL
    if bound_total is None:
        bound, gap = None, None
    else:
        bound = min(objective, math.ceil(bound_total - 1e-6))
        bound = max(bound, 0)
        gap = 0.0 if objective == 0 else round((objective - bound) / objective, 6)
    allocations.sort(key=lambda a: (a.school, a.service, a.offer))
    awards.sort(key=lambda a: a.offer)
    total = time.perf_counter() - started
    return Result(
        status=status,
        message="; ".join(notes) or None,
        objective_pence=objective,
        bound_pence=bound,
        gap=gap,
        solver=name,
        seconds=Seconds(clock.build, clock.solve, total),
        awards=tuple(awards),
        allocations=tuple(allocations),
        unmet=tuple(unmet),
        charges=tuple(charges),
        checks=tuple(checks),
        model=size,
    )


def solve_plain(
    instance: Instance, *, solver: str = HIGHS, time_limit: float | None = None
) -> Result:
    """The plain school-by-school model: one model, one column per school and offer, no merging."""
    return solve(instance, solver=solver, time_limit=time_limit, merge=False, split_services=False)


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    """Read an instance (file or '-'), solve it, print the result JSON; bad input exits 2."""
    parser = argparse.ArgumentParser(
        prog="python -m procurement.optimizer",
        description="Allocate pooled demand across offers at least cost (docs/aggregator.md).",
    )
    parser.add_argument("instance", help="instance JSON file, or - for standard input")
    parser.add_argument("--solver", choices=SOLVERS, default=HIGHS)
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--plain", action="store_true", help="solve the unmerged model")
    args = parser.parse_args(argv)
    if args.time_limit is not None and args.time_limit <= 0:
        parser.error("--time-limit must be positive")
    try:
        if args.instance == "-":
            data = json.load(sys.stdin)
        else:
            with open(args.instance, encoding="utf-8") as handle:
                data = json.load(handle)
    except OSError as error:
        print(f"error: {args.instance}: {error.strerror}", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        print(f"error: {args.instance}: not valid JSON: {error}", file=sys.stderr)
        return 2
    try:
        instance = instance_from_json(data)
    except InstanceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.plain:
        result = solve_plain(instance, solver=args.solver, time_limit=args.time_limit)
    else:
        result = solve(instance, solver=args.solver, time_limit=args.time_limit)
    json.dump(result_to_json(result), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
