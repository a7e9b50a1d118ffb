"""Known answers for the aggregator, its validation and its command line (pure: no app, no DB)."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import money
from procurement.optimizer import (
    INFEASIBLE,
    OPTIMAL,
    TIME_LIMIT,
    Demand,
    Instance,
    InstanceError,
    Offer,
    Result,
    Rules,
    School,
    Tier,
    instance_from_json,
    instance_to_json,
    result_to_json,
    solve,
    solve_plain,
    standalone_pence,
)
from procurement.optimizer.charges import largest_remainder
from procurement.optimizer.heuristic import heuristic
from procurement.optimizer.model import _Model, _plan
from procurement.optimizer.running import _Run, _run
from procurement.optimizer.solve import _make_whole, _settled

ROOT = Path(__file__).resolve().parents[3]
SERVICE = "counselling"


def an_offer(
    offer_id: str,
    price: int,
    *,
    provider: str | None = None,
    service: str = SERVICE,
    capacity: int = 1_000,
    tiers: tuple[tuple[int, int], ...] | None = None,
    min_award: int = 0,
    setup: int = 0,
    excluded: tuple[str, ...] = (),
) -> Offer:
    """An offer with one flat price unless tiers (from, unit price) are given."""
    return Offer(
        id=offer_id,
        provider=provider or f"P-{offer_id}",
        service=service,
        capacity=capacity,
        tiers=tuple(Tier(f, p) for f, p in (tiers or ((0, price),))),
        min_award=min_award,
        setup_pence=setup,
        excluded_schools=frozenset(excluded),
    )


def a_round(pledges: dict[str, int], offers: list[Offer], rules: Rules | None = None) -> Instance:
    """Schools pledging the given quantities of counselling days, with these offers and rules."""
    return Instance(
        schools=tuple(School(s) for s in sorted(pledges)),
        demand=tuple(Demand(s, SERVICE, q) for s, q in pledges.items()),
        offers=tuple(offers),
        rules=rules or Rules(),
    )


def awarded(result: Result) -> dict[str, tuple[int, int]]:
    """Offer id -> (quantity, unit price)."""
    return {a.offer: (a.quantity, a.unit_price_pence) for a in result.awards}


def allocated(result: Result) -> dict[tuple[str, str], int]:
    """(school, offer) -> units."""
    return {(a.school, a.offer): a.quantity for a in result.allocations}


def charged(result: Result) -> dict[str, int]:
    """School -> charge in pence for counselling."""
    return {c.school: c.charge_pence for c in result.charges if c.service == SERVICE}


# --- Known answers -----------------------------------------------------------------------------


def test_a_tier_jump_is_worth_moving_demand_off_the_cheaper_provider():
    cheap = an_offer("A", 10_000)
    tiered = an_offer("B", 0, tiers=((0, 12_000), (60, 8_000)))
    result = solve(a_round({"S1": 25, "S2": 35}, [cheap, tiered]))
    assert result.status == OPTIMAL
    assert awarded(result) == {"B": (60, 8_000)}
    assert result.awards[0].tier == 1
    assert result.objective_pence == 480_000
    assert result.bound_pence == 480_000 and result.gap == 0.0
    # Alone each would buy from A at £100 a day; the pool pays £80, shared in proportion.
    assert {c.school: c.standalone_pence for c in result.charges} == {
        "S1": 250_000,
        "S2": 350_000,
    }
    assert charged(result) == {"S1": 200_000, "S2": 280_000}
    assert result.checks[0].must_hold and result.checks[0].individually_rational


def test_a_tier_out_of_reach_is_not_bought_into_by_buying_more_than_pledged():
    cheap = an_offer("A", 10_000)
    tiered = an_offer("B", 0, tiers=((0, 12_000), (60, 8_000)))
    result = solve(a_round({"S1": 25, "S2": 30}, [cheap, tiered]))
    assert awarded(result) == {"A": (55, 10_000)}
    assert result.objective_pence == 550_000


def test_capacity_forces_a_split_and_the_check_reports_who_pays_more_than_alone():
    result = solve(
        a_round({"S1": 20, "S2": 20}, [an_offer("A", 10_000, capacity=30), an_offer("B", 15_000)])
    )
    assert awarded(result) == {"A": (30, 10_000), "B": (10, 15_000)}
    assert result.objective_pence == 450_000
    assert allocated(result) == {("S1", "A"): 20, ("S2", "A"): 10, ("S2", "B"): 10}
    # Each could have had 20 days from A alone (£2,000); pooled, capacity binds: £4,500 > £4,000.
    check = result.checks[0]
    assert check.standalone_sum_pence == 400_000 and check.pooled_pence == 450_000
    assert not check.must_hold
    assert check.violations == ("S1", "S2")
    # Their caps (£2,000 each) cannot cover £4,500: charged in proportion to the caps, and said.
    assert not check.caps_cover and check.caps_sum_pence == 400_000
    assert charged(result) == {"S1": 225_000, "S2": 225_000}


def test_a_school_short_of_its_pledge_pays_no_more_than_alone_when_the_caps_cover():
    # Issue 18's round: capacity runs short (63 days pledged, 49 offered), so every school gets
    # about 7/9 of its pledge. S1 pledged 7 days and got 5; alone, 7 days from A cost £1,256.00.
    cheap = an_offer("A", 14_200, setup=26_200, capacity=7)
    dear = an_offer("B", 21_900, capacity=42)
    result = solve(a_round({"S1": 7, "S2": 5, "S3": 51}, [cheap, dear], Rules(min_providers=0)))
    assert result.objective_pence == 125_600 + 42 * 21_900
    rows = {c.school: c for c in result.charges}
    assert {s: (c.quantity, c.met) for s, c in rows.items()} == {
        "S1": (7, 5),
        "S2": (5, 4),
        "S3": (51, 40),
    }
    assert rows["S1"].standalone_pence == 125_600
    # The plain proportional split charged S1 £1,312.15, more than its whole pledge alone.
    bases = [rows[s].basis_pence for s in ("S1", "S2", "S3")]
    assert largest_remainder(result.objective_pence, bases)[0] == 131_215
    # Capped: S1 and S2 pay what their units would cost alone (5 and 4 days from A); S3, whose
    # 40 days alone would cost £8,760.00 (from B), takes the rest and still pays less than that.
    assert {s: c.cap_pence for s, c in rows.items()} == {
        "S1": 97_200,
        "S2": 83_000,
        "S3": 876_000,
    }
    assert charged(result) == {"S1": 97_200, "S2": 83_000, "S3": 865_200}
    check = result.checks[0]
    assert check.caps_cover and check.individually_rational
    assert sum(charged(result).values()) == result.objective_pence


@pytest.mark.parametrize(
    ("days", "winner", "cost"),
    [(40, "B", 440_000), (60, "A", 650_000)],
)
def test_a_setup_cost_only_pays_off_at_volume(days, winner, cost):
    with_setup = an_offer("A", 10_000, setup=50_000)
    without = an_offer("B", 11_000)
    result = solve(a_round({"S1": days}, [with_setup, without]))
    assert [a.offer for a in result.awards] == [winner]
    assert result.objective_pence == cost


def test_pooling_pays_a_setup_cost_once_and_shares_the_saving():
    result = solve(
        a_round({"S1": 30, "S2": 30}, [an_offer("A", 10_000, setup=50_000), an_offer("B", 11_000)])
    )
    assert awarded(result) == {"A": (60, 10_000)}
    assert result.objective_pence == 650_000
    assert {c.school: c.standalone_pence for c in result.charges} == {
        "S1": 330_000,
        "S2": 330_000,
    }
    assert charged(result) == {"S1": 325_000, "S2": 325_000}


def test_an_excluded_school_gets_nothing_from_that_offer():
    result = solve(
        a_round(
            {"S1": 10, "S2": 10}, [an_offer("A", 10_000, excluded=("S2",)), an_offer("B", 12_000)]
        )
    )
    assert allocated(result) == {("S1", "A"): 10, ("S2", "B"): 10}
    assert result.objective_pence == 220_000
    s2 = next(c for c in result.charges if c.school == "S2")
    assert s2.standalone_pence == 120_000


def test_max_share_caps_the_cheapest_offer():
    rules = Rules(max_share=0.6)
    result = solve(a_round({"S1": 10}, [an_offer("A", 10_000), an_offer("B", 12_000)], rules))
    assert awarded(result) == {"A": (6, 10_000), "B": (4, 12_000)}
    assert result.objective_pence == 108_000


def test_max_share_with_whole_units_leaves_demand_unmet_rather_than_break_the_share():
    rules = Rules(max_share=0.5)
    result = solve(a_round({"S1": 3}, [an_offer("A", 10_000), an_offer("B", 12_000)], rules))
    assert result.status == OPTIMAL
    assert awarded(result) == {"A": (1, 10_000), "B": (1, 12_000)}
    assert [(u.school, u.quantity) for u in result.unmet] == [("S1", 1)]


def test_min_providers_spreads_a_lot_over_distinct_providers():
    rules = Rules(min_providers=2)
    result = solve(a_round({"S1": 10}, [an_offer("A", 10_000), an_offer("B", 12_000)], rules))
    assert awarded(result) == {"A": (9, 10_000), "B": (1, 12_000)}
    assert result.objective_pence == 102_000


def test_single_source_keeps_each_school_with_one_offer():
    offers = [an_offer("A", 10_000, capacity=15), an_offer("B", 12_000)]
    free = solve(a_round({"S1": 10, "S2": 10}, offers))
    assert free.objective_pence == 210_000  # 15 from A and 5 from B
    single = solve(a_round({"S1": 10, "S2": 10}, offers, Rules(single_source=True)))
    assert single.objective_pence == 220_000
    assert allocated(single) == {("S1", "A"): 10, ("S2", "B"): 10}


def test_single_source_merges_schools_with_the_same_pledge_and_splits_them_back_whole():
    pledges = {f"S{n}": 4 for n in range(1, 7)}
    offers = [an_offer("A", 10_000, capacity=9), an_offer("B", 12_000, capacity=9)]
    result = solve(a_round(pledges, offers, Rules(single_source=True)))
    assert result.model is not None and result.model.groups == 1
    # 9 days fit two whole schools each; the remaining two schools cannot be served from one offer.
    assert sorted(allocated(result).values()) == [1, 1, 4, 4, 4, 4]
    per_school: dict[str, set[str]] = {}
    for allocation in result.allocations:
        per_school.setdefault(allocation.school, set()).add(allocation.offer)
    assert all(len(offers) == 1 for offers in per_school.values())
    assert sum(u.quantity for u in result.unmet) == 24 - 18
    assert (
        result.objective_pence
        == solve_plain(a_round(pledges, offers, Rules(single_source=True))).objective_pence
    )


def test_demand_beyond_capacity_is_reported_unmet_and_shared_out_evenly():
    result = solve(a_round({"S1": 10, "S2": 10}, [an_offer("A", 10_000, capacity=15)]))
    assert result.status == OPTIMAL
    assert result.objective_pence == 150_000
    assert [(u.school, u.quantity) for u in result.unmet] == [("S1", 2), ("S2", 3)]
    assert {c.school: c.met for c in result.charges} == {"S1": 8, "S2": 7}
    assert charged(result) == {"S1": 80_000, "S2": 70_000}
    assert not result.checks[0].must_hold


def test_meeting_demand_comes_before_cost():
    too_big = an_offer("A", 1_000, min_award=20)
    dear = an_offer("B", 50_000)
    result = solve(a_round({"S1": 10}, [too_big, dear]))
    assert awarded(result) == {"B": (10, 50_000)}
    assert result.unmet == ()


def test_a_minimum_award_no_one_can_reach_leaves_demand_unmet_when_min_providers_is_zero():
    result = solve(
        a_round({"S1": 10}, [an_offer("A", 1_000, min_award=20)], Rules(min_providers=0))
    )
    assert result.status == OPTIMAL
    assert result.awards == ()
    assert result.objective_pence == 0
    assert [(u.school, u.quantity) for u in result.unmet] == [("S1", 10)]
    assert result.charges[0].standalone_pence is None


@pytest.mark.parametrize(
    ("offers", "rules", "message"),
    [
        (
            [an_offer("A", 10_000)],
            Rules(max_share=0.5),
            "max_share 0.5 needs 2 providers for counselling; 1 offers it",
        ),
        (
            [an_offer("A", 10_000, provider="P1"), an_offer("B", 12_000, provider="P1")],
            Rules(min_providers=2),
            "min_providers 2 needs 2 providers for counselling; 1 offers it",
        ),
        (
            [an_offer("A", 10_000, service="payroll")],
            Rules(),
            "min_providers 1: no offer can serve counselling",
        ),
    ],
)
def test_rules_that_cannot_hold_make_the_round_infeasible_with_a_reason(offers, rules, message):
    result = solve(a_round({"S1": 10}, offers, rules))
    assert result.status == INFEASIBLE
    assert result.message == message
    assert result.objective_pence is None
    assert result.awards == () and result.allocations == () and result.charges == ()


def test_the_solver_finds_infeasibility_the_quick_checks_miss():
    # One unit cannot be split 50/50, and min_providers 1 forbids awarding nothing.
    rules = Rules(max_share=0.5)
    result = solve(a_round({"S1": 1}, [an_offer("A", 10_000), an_offer("B", 12_000)], rules))
    assert result.status == INFEASIBLE
    assert result.message is not None and "no allocation of counselling meets the rules" in (
        result.message
    )
    assert solve_plain(a_round({"S1": 1}, [an_offer("A", 1), an_offer("B", 2)], rules)).status == (
        INFEASIBLE
    )


def test_services_are_solved_apart_and_charged_apart():
    offers = [an_offer("A", 10_000), an_offer("P", 400, service="payroll")]
    instance = Instance(
        schools=(School("S1"), School("S2")),
        demand=(
            Demand("S1", SERVICE, 5),
            Demand("S2", SERVICE, 5),
            Demand("S1", "payroll", 300),
        ),
        offers=tuple(offers),
    )
    result = solve(instance)
    assert result.objective_pence == 100_000 + 120_000
    assert {(c.school, c.service): c.charge_pence for c in result.charges} == {
        ("S1", SERVICE): 50_000,
        ("S2", SERVICE): 50_000,
        ("S1", "payroll"): 120_000,
    }
    assert [c.service for c in result.checks] == [SERVICE, "payroll"]


def two_areas(rules: Rules | None = None) -> Instance:
    """North and south schools, each area served by its own providers (none serves both)."""
    north = [f"N{n}" for n in range(1, 5)]
    south = [f"S{n}" for n in range(1, 5)]
    pledges = {school: 3 + n for n, school in enumerate(north + south)}
    offers = [
        an_offer("NA", 10_000, tiers=((0, 10_000), (12, 9_000)), excluded=tuple(south)),
        an_offer("NB", 9_800, capacity=10, excluded=tuple(south)),
        an_offer("SA", 10_500, tiers=((0, 10_500), (20, 9_500)), excluded=tuple(north)),
        an_offer("SB", 9_900, capacity=8, min_award=5, excluded=tuple(north)),
    ]
    return a_round(pledges, offers, rules)


@pytest.mark.parametrize("rules", [Rules(), Rules(single_source=True)])
def test_areas_no_offer_spans_are_solved_apart_with_the_same_optimum(rules):
    instance = two_areas(rules)
    result = solve(instance)
    assert result.model is not None and result.model.models == 2  # one service, two areas
    assert result.status == "optimal" and not result.unmet
    assert result.objective_pence == solve_plain(instance).objective_pence
    north = {a.offer for a in result.allocations if a.school.startswith("N")}
    assert north <= {"NA", "NB"}
    assert sum(c.charge_pence for c in result.charges) == result.objective_pence


def test_rules_that_weigh_a_whole_lot_keep_its_areas_together():
    instance = two_areas(Rules(max_share=0.6, min_providers=2))
    result = solve(instance)
    assert result.model is not None and result.model.models == 1
    assert result.objective_pence == solve_plain(instance).objective_pence


def test_an_offer_serving_both_areas_joins_them_into_one_model():
    instance = two_areas()
    joined = Instance(
        schools=instance.schools,
        demand=instance.demand,
        offers=(*instance.offers, an_offer("ALL", 12_000)),
        rules=instance.rules,
    )
    result = solve(joined)
    assert result.model is not None and result.model.models == 1
    assert result.objective_pence == solve_plain(joined).objective_pence


def test_identical_schools_are_merged_into_one_type():
    pledges = {f"S{n:02d}": 5 + n for n in range(10)}
    offers = [an_offer("A", 10_000, capacity=40), an_offer("B", 11_000, excluded=("S03",))]
    merged = solve(a_round(pledges, offers))
    plain = solve_plain(a_round(pledges, offers))
    assert merged.model is not None and plain.model is not None
    assert (merged.model.groups, plain.model.groups) == (2, 10)
    assert merged.objective_pence == plain.objective_pence
    assert ("S03", "B") not in allocated(merged)


def test_fractional_flows_are_made_whole_at_no_extra_cost():
    # White-box: HiGHS returns whole flows in practice, so set up the fractional optimum it could
    # return (each school half from each offer: same cost) and check the repair step.
    instance = a_round({"S1": 1, "S2": 1}, [an_offer("A", 100), an_offer("B", 100)])
    model = _Model(_plan(instance, merge=False, split_services=True).blocks[0], instance.rules)
    model.meet_everything()
    assert _run(model.lp, "highs", None).status == OPTIMAL
    for opened, volume in zip(model.opened, model.volume, strict=True):
        opened[0].varValue, volume[0].varValue = 1.0, 1.0
    for ys in model.y:
        for y in ys.values():
            y.varValue = 0.5
    assert not model.whole()
    _make_whole(model, lambda: _run(model.lp, "highs", None))
    assert model.whole()
    purchases, unmet = model.values()
    assert sorted(tuple(p.items()) for p in purchases) == [((0, 1),), ((1, 1),)]
    assert unmet == [0, 0]
    assert model.cost.value() == 200
    # The choices are free again and the flows continuous, ready for the next phase.
    assert all((v.lowBound, v.upBound) == (0, 1) for v in model.decisions)
    assert all(v.cat == "Continuous" for v in model.flows)


def test_cbc_gives_the_same_answer_as_highs():
    instance = a_round(
        {"S1": 25, "S2": 35, "S3": 7},
        [an_offer("A", 10_000, capacity=50), an_offer("B", 0, tiers=((0, 12_000), (60, 8_000)))],
    )
    highs, cbc = solve(instance), solve(instance, solver="cbc")
    assert highs.solver.startswith("HiGHS ") and cbc.solver.startswith("CBC ")
    assert cbc.status == OPTIMAL
    assert cbc.objective_pence == highs.objective_pence


def test_a_time_limit_is_passed_to_the_solver_and_a_result_still_comes_back():
    instance = a_round({"S1": 10}, [an_offer("A", 10_000)])
    result = solve(instance, time_limit=5)
    assert result.status == OPTIMAL and result.objective_pence == 100_000


def a_hard_round() -> Instance:
    """300 schools, single source with every rule binding: seconds of work for HiGHS."""
    rng = random.Random(7)
    schools = [f"S{n:03d}" for n in range(300)]
    offers = []
    for n in range(12):
        price = rng.randint(18_000, 24_000)
        tiers = (
            (0, price),
            (rng.randint(200, 800), price - 1_500),
            (rng.randint(900, 1_500), price - 3_000),
        )
        offers.append(
            an_offer(
                f"O{n:02d}",
                0,
                service="supply",
                capacity=rng.randint(600, 2_500),
                tiers=tiers,
                min_award=rng.choice([0, 100, 300]),
                setup=rng.choice([0, 50_000, 200_000]),
                excluded=tuple(rng.sample(schools, 20)),
            )
        )
    return Instance(
        schools=tuple(School(s) for s in schools),
        demand=tuple(Demand(s, "supply", rng.randint(5, 60)) for s in schools),
        offers=tuple(offers),
        rules=Rules(max_share=0.4, min_providers=3, single_source=True),
    )


def test_running_out_of_time_is_reported_and_nothing_is_dropped_silently():
    instance = a_hard_round()
    result = solve(instance, time_limit=0.05)
    assert result.status == TIME_LIMIT
    assert result.seconds.total < 10
    if result.awards:  # the solver found something: it is kept, with its gap
        assert result.gap is not None or result.bound_pence is None
    else:
        assert result.message == (
            "no allocation of supply found within the time limit; its demand is reported unmet"
        )
        assert sum(u.quantity for u in result.unmet) == sum(d.quantity for d in instance.demand)
        assert result.objective_pence == 0 and result.gap is None
    assert sum(c.charge_pence for c in result.charges) == result.objective_pence


@pytest.mark.parametrize(
    ("run", "status"),
    [
        (_Run(OPTIMAL, 1_000_000.0, 1_000_000.0, 1.0), OPTIMAL),
        (_Run(TIME_LIMIT, 1_000_000.0, 999_950.0, 1.0), OPTIMAL),  # gap 5e-5
        (_Run(TIME_LIMIT, 1_000_000.0, 999_000.0, 1.0), TIME_LIMIT),  # gap 1e-3
        (_Run(TIME_LIMIT, 1_000_000.0, None, 1.0), TIME_LIMIT),
        (_Run(INFEASIBLE, None, None, 1.0), INFEASIBLE),
    ],
)
def test_a_run_stopped_within_the_optimality_gap_counts_as_optimal(run, status):
    assert _settled(run) == status


def test_standalone_is_the_cheapest_single_offer_that_could_serve_the_school_alone():
    offers = [
        an_offer("A", 9_000, capacity=5),  # too small
        an_offer("B", 9_500, min_award=20),  # minimum too high
        an_offer("C", 9_900, excluded=("S1",)),  # excluded
        an_offer("D", 0, tiers=((0, 12_000), (10, 10_000)), setup=1_000),
        an_offer("E", 10_600),
    ]
    assert standalone_pence(offers, "S1", 10) == 101_000
    assert standalone_pence(offers, "S1", 9) == 95_400
    assert standalone_pence(offers[:3], "S1", 10) is None
    assert standalone_pence(offers, "S1", 0) == 0


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (10, [0, 5, 5], [0, 5, 5]),
        (7, [3, 3], [4, 3]),
        (0, [0, 0], [0, 0]),
        (1_000_001, [2, 3, 5], [200_000, 300_000, 500_001]),
    ],
)
def test_largest_remainder_adds_up_to_the_penny(total, weights, parts):
    assert largest_remainder(total, weights) == parts
    assert sum(largest_remainder(total, weights)) == total


@given(
    st.integers(0, 10**12),
    st.lists(st.integers(0, 10**9), min_size=1, max_size=30).filter(lambda w: sum(w) > 0),
)
def test_the_optimizers_own_split_is_the_money_modules(total, weights):
    assert largest_remainder(total, weights) == money.largest_remainder(total, weights)


def test_largest_remainder_refuses_a_total_with_nothing_to_weigh_it():
    with pytest.raises(ValueError, match="all zero"):
        largest_remainder(5, [0, 0])


# --- Validation --------------------------------------------------------------------------------


def example() -> dict:
    """The instance from the issue, as JSON."""
    return {
        "schools": [{"id": "S1"}, {"id": "S2"}],
        "demand": [
            {"school": "S1", "service": "counselling", "quantity": 12},
            {"school": "S2", "service": "counselling", "quantity": 45},
        ],
        "offers": [
            {
                "id": "O1",
                "provider": "P1",
                "service": "counselling",
                "capacity": 300,
                "tiers": [
                    {"from": 0, "unit_price_pence": 25000},
                    {"from": 50, "unit_price_pence": 23000},
                ],
                "min_award": 0,
                "setup_pence": 0,
                "excluded_schools": [],
            },
            {
                "id": "O2",
                "provider": "P2",
                "service": "counselling",
                "capacity": 30,
                "tiers": [{"from": 0, "unit_price_pence": 24000}],
            },
        ],
        "rules": {"max_share": 1.0, "min_providers": 1, "single_source": False},
    }


def test_the_example_round_trips_through_json():
    instance = instance_from_json(example())
    assert instance_from_json(instance_to_json(instance)) == instance
    assert instance.offers[1].min_award == 0 and instance.offers[1].excluded_schools == frozenset()


def test_rules_are_optional():
    data = example()
    del data["rules"]
    assert instance_from_json(data).rules == Rules()


def _set(path: str, value: object):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node: object = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _delete(path: str):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node: object = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return change


BAD_INPUTS = [
    (_set("demand.0.school", "S9"), "demand[0].school: unknown school 'S9'"),
    (_set("demand.1.quantity", -3), "demand[1].quantity: must be >= 0, got -3"),
    (_set("demand.1.quantity", 2.5), "demand[1].quantity: must be a whole number, got 2.5"),
    (_set("demand.1.quantity", True), "demand[1].quantity: must be a whole number, got True"),
    (_set("demand.1.school", "S1"), "demand[1]: duplicate pledge for school 'S1'"),
    (_set("offers.0.tiers.1.from", 0), "offers[0].tiers[1].from: tiers must be ascending"),
    (
        _set("offers.0.tiers.1.unit_price_pence", 230.5),
        "offers[0].tiers[1].unit_price_pence: must be a whole number, got 230.5",
    ),
    (_set("offers.0.tiers", []), "offers[0].tiers: needs at least one tier"),
    (_set("offers.1.id", "O1"), "offers[1].id: duplicate offer id 'O1'"),
    (_set("offers.1.capacity", -1), "offers[1].capacity: must be >= 0, got -1"),
    (_set("offers.0.setup_pence", "100"), "offers[0].setup_pence: must be a whole number"),
    (_set("offers.0.excluded_schools", ["S7"]), "offers[0].excluded_schools: unknown school 'S7'"),
    (_set("offers.0.provider", ""), "offers[0].provider: must be a non-empty string"),
    (_delete("offers.1.tiers"), "offers[1].tiers: is required"),
    (_set("offers.1.colour", "red"), "offers[1].colour: unknown field"),
    (_set("schools.1.id", "S1"), "schools[1].id: duplicate school id 'S1'"),
    (_set("rules.max_share", 0), "rules.max_share: must be a number in (0, 1], got 0"),
    (_set("rules.max_share", 1.5), "rules.max_share: must be a number in (0, 1]"),
    (_set("rules.min_providers", -1), "rules.min_providers: must be >= 0, got -1"),
    (_set("rules.single_source", "yes"), "rules.single_source: must be true or false"),
    (_set("demand", {}), "demand: must be a list, got dict"),
    (_delete("schools"), "schools: is required"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUTS)
def test_bad_input_is_refused_naming_the_field(change, message):
    data = copy.deepcopy(example())
    change(data)
    with pytest.raises(InstanceError) as caught:
        instance_from_json(data)
    assert str(caught.value).startswith(message)


def test_solve_validates_instances_built_in_python_too():
    broken = a_round({"S1": 10}, [an_offer("A", 0, tiers=((0, 5), (0, 4)))])
    with pytest.raises(
        InstanceError, match=r"offers\[0\]\.tiers\[1\]\.from: tiers must be ascending"
    ):
        solve(broken)


# --- Command line ------------------------------------------------------------------------------


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "procurement.optimizer", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def _without_timings(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "seconds"}


def test_the_command_line_prints_the_result_json(tmp_path):
    path = tmp_path / "round.json"
    path.write_text(json.dumps(example()))
    done = run_cli(str(path))
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    expected = result_to_json(solve(instance_from_json(example())))
    assert _without_timings(printed) == _without_timings(expected)
    assert printed["status"] == "optimal"
    # 57 days all from O1 reach its £230 tier: £13,110 beats O2's 30 at £240 plus 27 at £250.
    assert printed["objective_pence"] == 57 * 23_000
    assert set(printed["seconds"]) == {"build", "solve", "total"}


def test_the_command_line_reads_standard_input_and_takes_solver_options():
    done = run_cli("-", "--solver", "cbc", "--time-limit", "30", stdin=json.dumps(example()))
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["solver"].startswith("CBC")
    assert printed["objective_pence"] == 57 * 23_000


def test_bad_input_on_the_command_line_exits_2_naming_the_field(tmp_path):
    data = example()
    data["offers"][0]["tiers"][1]["from"] = 0
    path = tmp_path / "round.json"
    path.write_text(json.dumps(data))
    done = run_cli(str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "offers[0].tiers[1].from: tiers must be ascending" in done.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("-",), "{not json", "-: not valid JSON"),
        (("/nonexistent/round.json",), None, "/nonexistent/round.json: No such file"),
        (("-",), "[]", "must be an object"),
        (("-", "--solver", "gurobi"), "{}", "invalid choice"),
        (("-", "--time-limit", "0"), "{}", "--time-limit must be positive"),
    ],
)
def test_unreadable_input_exits_2(args, stdin, message):
    done = run_cli(*args, stdin=stdin)
    assert done.returncode == 2
    assert message in done.stderr


def test_a_time_limit_never_meets_less_than_the_heuristic_allocation_nor_costs_more():
    instance = a_hard_round()
    [block] = _plan(instance, True, True).blocks
    start = heuristic(block, instance.rules)
    assert start is not None
    result = solve(instance, time_limit=0.05)
    assert result.status == TIME_LIMIT
    unmet = sum(u.quantity for u in result.unmet)
    assert unmet <= start.unmet_total
    assert result.heuristic_pence == start.cost_pence
    assert result.objective_pence is not None and result.objective_pence <= start.cost_pence
    assert result.unmet_bound is not None and 0 <= result.unmet_bound <= unmet
    assert sum(c.charge_pence for c in result.charges) == result.objective_pence


def test_without_the_heuristic_a_time_limit_can_leave_a_service_with_nothing():
    result = solve(a_hard_round(), time_limit=0.05, use_heuristic=False)
    assert result.status == TIME_LIMIT and result.heuristic_pence is None
    if not result.awards:
        assert result.message == (
            "no allocation of supply found within the time limit; its demand is reported unmet"
        )


def test_an_optimal_result_proves_its_unmet_units_and_beats_the_heuristic():
    instance = a_round(
        {"S1": 8, "S2": 7},
        [an_offer("A", 100, capacity=9), an_offer("B", 150, capacity=3)],
        Rules(single_source=True),
    )
    result = solve(instance)
    assert result.status == OPTIMAL
    assert result.unmet_bound == sum(u.quantity for u in result.unmet) == 4
    assert result.heuristic_pence is not None
    assert result.objective_pence is not None
    assert result.objective_pence <= result.heuristic_pence
