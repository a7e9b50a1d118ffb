"""Properties of the aggregator over random small rounds, and a brute-force cross-check."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import replace
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procurement.optimizer import (
    INFEASIBLE,
    OPTIMAL,
    Demand,
    Instance,
    Offer,
    Result,
    Rules,
    School,
    Tier,
    result_to_json,
    solve,
    solve_plain,
)
from procurement.optimizer.charges import capped_split, largest_remainder

SERVICES = ("counselling", "payroll")
PROVIDERS = ("P1", "P2", "P3")
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def rounds(
    draw: st.DrawFn,
    max_schools: int = 4,
    max_offers: int = 5,
    max_quantity: int = 8,
    max_pledges: int | None = None,
) -> Instance:
    """A small random round: a few schools, one or two services, offers with 1–3 tiers, rules."""
    schools = [f"S{n}" for n in range(1, draw(st.integers(1, max_schools)) + 1)]
    services = SERVICES[: draw(st.integers(1, len(SERVICES)))]
    pairs = [(s, k) for s in schools for k in services]
    chosen = draw(
        st.lists(
            st.sampled_from(pairs), unique=True, min_size=1, max_size=max_pledges or len(pairs)
        )
    )
    demand = [Demand(s, k, draw(st.integers(0, max_quantity))) for s, k in chosen]
    offers = []
    for n in range(draw(st.integers(1, max_offers))):
        first = draw(st.sampled_from((0, 0, 0, 2)))
        later = draw(st.sets(st.integers(first + 1, 15), max_size=2))
        starts = [first, *sorted(later)]
        offers.append(
            Offer(
                id=f"O{n}",
                provider=draw(st.sampled_from(PROVIDERS)),
                service=services[n] if n < len(services) else draw(st.sampled_from(services)),
                capacity=draw(st.sampled_from((0, 2, 5, 9, 14, 20, 40))),
                tiers=tuple(Tier(start, draw(st.integers(1, 30))) for start in starts),
                min_award=draw(st.sampled_from((0, 0, 0, 1, 3, 6))),
                setup_pence=draw(st.sampled_from((0, 0, 5, 20))),
                excluded_schools=frozenset(draw(st.sets(st.sampled_from(schools), max_size=2))),
            )
        )
    rules = Rules(
        max_share=draw(st.sampled_from((1.0, 1.0, 0.75, 0.6, 0.5))),
        min_providers=draw(st.sampled_from((0, 1, 1, 1, 2))),
        single_source=draw(st.booleans()),
    )
    return Instance(tuple(School(s) for s in schools), tuple(demand), tuple(offers), rules)


def standalone(instance: Instance, school: str, service: str, quantity: int) -> int | None:
    """Recomputed here from the definition: cheapest single offer able to serve it alone."""
    if quantity == 0:
        return 0
    costs = []
    for offer in instance.offers:
        if offer.service != service or school in offer.excluded_schools:
            continue
        if quantity > offer.capacity or quantity < max(offer.min_award, 1):
            continue
        tiers = [t for t in offer.tiers if t.from_quantity <= quantity]
        if tiers:
            costs.append(quantity * tiers[-1].unit_price_pence + offer.setup_pence)
    return min(costs) if costs else None


def check_result(instance: Instance, result: Result) -> None:
    """Every promise of an optimal result, checked from the instance alone."""
    assert result.status == OPTIMAL
    offers = {o.id: o for o in instance.offers}
    pledges = {(d.school, d.service): d.quantity for d in instance.demand}
    got: Counter[tuple[str, str]] = Counter()
    per_offer: Counter[str] = Counter()
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    for a in result.allocations:
        offer = offers[a.offer]
        assert a.quantity > 0
        assert offer.service == a.service
        assert a.school not in offer.excluded_schools
        assert (a.school, a.service) in pledges
        got[(a.school, a.service)] += a.quantity
        per_offer[a.offer] += a.quantity
        sources[(a.school, a.service)].add(a.offer)
    unmet = {(u.school, u.service): u.quantity for u in result.unmet}
    assert all(q > 0 for q in unmet.values())
    for key, quantity in pledges.items():
        assert got[key] + unmet.get(key, 0) == quantity
    if instance.rules.single_source:
        assert all(len(offer_ids) == 1 for offer_ids in sources.values())

    assert {a.offer for a in result.awards} == set(per_offer)
    for award in result.awards:
        offer = offers[award.offer]
        quantity = per_offer[award.offer]
        assert award.quantity == quantity
        assert max(offer.min_award, 1) <= quantity <= offer.capacity
        reached = [i for i, t in enumerate(offer.tiers) if t.from_quantity <= quantity]
        assert reached, "below the first tier"
        assert award.tier == reached[-1]
        assert award.unit_price_pence == offer.tiers[award.tier].unit_price_pence
        assert award.cost_pence == quantity * award.unit_price_pence + offer.setup_pence
    assert result.objective_pence == sum(a.cost_pence for a in result.awards)
    assert result.bound_pence == result.objective_pence and result.gap == 0.0

    share = Fraction(str(instance.rules.max_share))
    wanted = {k for (_, k), q in pledges.items() if q > 0}
    for service in {k for _, k in pledges}:
        mine = [a for a in result.awards if a.service == service]
        total = sum(a.quantity for a in mine)
        assert all(a.quantity <= share * total for a in mine)
        if service in wanted:
            assert len({a.provider for a in mine}) >= instance.rules.min_providers

    charges = {(c.school, c.service): c for c in result.charges}
    assert set(charges) == set(pledges)
    assert sum(c.charge_pence for c in result.charges) == result.objective_pence
    for service in {k for _, k in pledges}:
        rows = [c for c in result.charges if c.service == service]
        pooled = sum(a.cost_pence for a in result.awards if a.service == service)
        assert sum(c.charge_pence for c in rows) == pooled
        for c in rows:
            assert c.charge_pence >= 0
            assert c.standalone_pence == standalone(instance, c.school, service, c.quantity)
            assert c.met == got[(c.school, service)]
        alone = [c.standalone_pence for c in rows if c.quantity > 0]
        everything_met = all(c.met == c.quantity for c in rows)
        if None not in alone and everything_met and pooled <= sum(alone):
            for c in rows:
                assert c.standalone_pence is not None and c.charge_pence <= c.standalone_pence
        check = next(ch for ch in result.checks if ch.service == service)
        violators = tuple(
            c.school
            for c in rows
            if c.standalone_pence is not None and c.charge_pence > c.standalone_pence
        )
        assert check.violations == violators
        # Capped sharing: each cap is the stand-alone price of what the school got, or of its
        # whole pledge if lower (the list price of what it got when neither is possible alone).
        for c in rows:
            prices = (standalone(instance, c.school, service, c.met), c.standalone_pence)
            known = [price for price in prices if price is not None]
            assert c.cap_pence == (min(known) if known else c.basis_pence)
        assert check.caps_sum_pence == sum(c.cap_pence for c in rows)
        assert check.caps_cover == (check.caps_sum_pence >= pooled)
        if check.caps_cover:
            assert all(c.charge_pence <= c.cap_pence for c in rows)
            assert check.violations == ()
        else:
            assert all(c.charge_pence >= c.cap_pence for c in rows)


def comparable(result: Result) -> dict:
    """The result as JSON without the timings, which differ from run to run."""
    return {key: value for key, value in result_to_json(result).items() if key != "seconds"}


@FAST
@given(rounds())
def test_every_optimal_result_keeps_its_promises(instance):
    result = solve(instance)
    assert result.status in (OPTIMAL, INFEASIBLE)
    if result.status == OPTIMAL:
        check_result(instance, result)
    else:
        assert result.message and result.awards == () and result.charges == ()


@FAST
@given(rounds())
def test_merged_types_give_the_plain_models_optimum(instance):
    merged, plain = solve(instance), solve_plain(instance)
    assert merged.status == plain.status
    if merged.status == OPTIMAL:
        check_result(instance, plain)
        assert merged.objective_pence == plain.objective_pence
        assert sum(u.quantity for u in merged.unmet) == sum(u.quantity for u in plain.unmet)


@FAST
@given(rounds())
def test_reruns_and_reordered_input_give_the_same_allocation(instance):
    first = solve(instance)
    again = solve(instance)
    reordered = solve(
        replace(
            instance,
            schools=instance.schools[::-1],
            demand=instance.demand[::-1],
            offers=instance.offers[::-1],
        )
    )
    assert comparable(first) == comparable(again) == comparable(reordered)


@settings(max_examples=25, deadline=None)
@given(rounds(max_schools=3, max_offers=3))
def test_cbc_agrees_with_highs(instance):
    highs, cbc = solve(instance), solve(instance, solver="cbc")
    assert highs.status == cbc.status
    if highs.status == OPTIMAL:
        check_result(instance, cbc)
        assert highs.objective_pence == cbc.objective_pence


# --- Brute force --------------------------------------------------------------------------------


def brute_force(instance: Instance) -> tuple[int, int] | None:
    """(unmet units, cost) of the best allocation by enumeration; None when nothing is feasible."""
    rules = instance.rules
    share = Fraction(str(rules.max_share))
    rows = sorted((d.school, d.service, d.quantity) for d in instance.demand if d.quantity > 0)
    wanted = {service for _, service, _ in rows}
    choices = []
    for school, service, quantity in rows:
        reach = [
            o.id
            for o in instance.offers
            if o.service == service and school not in o.excluded_schools
        ]
        options = []
        for split in itertools.product(range(quantity + 1), repeat=len(reach)):
            if sum(split) > quantity:
                continue
            if rules.single_source and sum(1 for x in split if x) > 1:
                continue
            options.append((quantity - sum(split), dict(zip(reach, split, strict=True))))
        choices.append(options)
    offers = {o.id: o for o in instance.offers}
    best: tuple[int, int] | None = None
    for combination in itertools.product(*choices):
        totals: Counter[str] = Counter()
        for _, split in combination:
            totals.update(split)
        if not all(offers[o].can_award(q) for o, q in totals.items()):
            continue
        feasible = True
        for service in wanted:
            mine = {o: q for o, q in totals.items() if offers[o].service == service and q}
            all_units = sum(mine.values())
            if any(q > share * all_units for q in mine.values()):
                feasible = False
            if len({offers[o].provider for o in mine}) < rules.min_providers:
                feasible = False
        if not feasible:
            continue
        value = (
            sum(unmet for unmet, _ in combination),
            sum(offers[o].cost_pence(q) for o, q in totals.items()),
        )
        if best is None or value < best:
            best = value
    return best


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_schools=3, max_offers=3, max_quantity=3, max_pledges=3))
def test_the_optimum_matches_brute_force_on_tiny_rounds(instance):
    result = solve(instance)
    best = brute_force(instance)
    if best is None:
        assert result.status == INFEASIBLE
    else:
        assert result.status == OPTIMAL, result.message
        assert (sum(u.quantity for u in result.unmet), result.objective_pence) == best


@st.composite
def short_rounds(draw: st.DrawFn) -> Instance:
    """Rounds where capacity runs short: at most a few units per offer, no side rules."""
    instance = draw(rounds(max_schools=5, max_quantity=12))
    offers = tuple(replace(o, capacity=draw(st.integers(0, 8))) for o in instance.offers)
    return replace(instance, offers=offers, rules=Rules(min_providers=0))


@FAST
@given(short_rounds())
def test_capped_sharing_when_capacity_runs_short(instance):
    result = solve(instance)
    check_result(instance, result)  # caps: no charge above its cap whenever the caps cover
    reordered = solve(
        replace(
            instance,
            schools=instance.schools[::-1],
            demand=instance.demand[::-1],
            offers=instance.offers[::-1],
        )
    )
    assert result.charges == reordered.charges and result.checks == reordered.checks


splits = st.integers(1, 12).flatmap(
    lambda n: st.tuples(
        st.integers(0, 10**7),
        st.lists(st.integers(0, 10**6), min_size=n, max_size=n),
        st.lists(st.integers(0, 10**6), min_size=n, max_size=n),
    )
)


@settings(max_examples=400, deadline=None)
@given(splits)
def test_the_capped_split_adds_up_and_keeps_to_the_caps_when_they_cover(split):
    total, bases, caps = split
    if sum(bases) == 0 and sum(caps) < total:
        return  # nothing to weigh the split by: _charges never asks for it
    parts, covered = capped_split(total, bases, caps)
    assert sum(parts) == total and all(part >= 0 for part in parts)
    assert covered == (sum(caps) >= total)
    if covered:
        assert all(part <= cap for part, cap in zip(parts, caps, strict=True))
    else:
        assert all(part >= cap for part, cap in zip(parts, caps, strict=True))
    # Nothing moves when the plain proportional split already keeps to the caps.
    if sum(bases) and all(
        total * b <= cap * sum(bases) for b, cap in zip(bases, caps, strict=True)
    ):
        assert parts == largest_remainder(total, bases)
    # Whoever stays below its cap pays in proportion to its basis, to within a penny.
    free = [i for i in range(len(parts)) if parts[i] < caps[i] and bases[i]]
    for i, j in itertools.combinations(free, 2):
        assert abs(Fraction(parts[i], bases[i]) - Fraction(parts[j], bases[j])) <= Fraction(
            1, bases[i]
        ) + Fraction(1, bases[j])
