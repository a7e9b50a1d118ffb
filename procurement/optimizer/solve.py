"""Solving an instance: the phases of one block (meet everything, else meet the most and then at
least cost), each started from the heuristic allocation, sharing the time limit between blocks,
and solve / solve_plain. Running the solver itself is running.py's.

Pure: the standard library, PuLP and (through PuLP) highspy.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from operator import attrgetter

from procurement.optimizer.charges import _charges, _split_group
from procurement.optimizer.heuristic import Heuristic, Targets, heuristic
from procurement.optimizer.instance import Instance, Rules, validate_instance
from procurement.optimizer.model import _Block, _Model, _plan, _relaxed
from procurement.optimizer.result import (
    INFEASIBLE,
    OPTIMAL,
    TIME_LIMIT,
    Allocation,
    Award,
    ModelSize,
    Result,
    Seconds,
    Unmet,
)
from procurement.optimizer.running import (
    HIGHS,
    OPTIMALITY_GAP,
    SOLVERS,
    _Run,
    _run,
    solver_name,
)

# Under single_source, phase A's cost is bounded by the same block solved without single_source
# first (see _solve_block).
_BOUND_FROM_RELAXED = True

# ---------------------------------------------------------------------------------------------
# Solving blocks


@dataclass
class _Outcome:
    status: str  # optimal, time_limit, infeasible, none
    purchases: list[dict[int, int]]
    unmet: list[int]
    bound: float | None
    unmet_bound: int | None  # proven least unmet units (phase 1's bound); None if infeasible
    heuristic_pence: int | None  # the heuristic allocation's cost; None if it found none
    heuristic_only: bool = False  # stopped before the search found anything: the heuristic's


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


def _good_enough(floor: float) -> float:
    """A cost this close above a proven lower bound is optimal within the optimality gap."""
    return floor + 0.9 * OPTIMALITY_GAP * abs(floor)


def _proven_unmet(run: _Run) -> int:
    """The least number of unmet units phase 1's dual bound proves (0 when it proves nothing)."""
    if run.bound is None:
        return 0
    return max(math.ceil(run.bound - 1e-6), 0)


def _solve_block(
    block: _Block,
    rules: Rules,
    solver: str,
    clock: _Clock,
    share_of: int,
    use_heuristic: bool = True,
) -> tuple[_Outcome, _Model]:
    started = time.perf_counter()
    model = _Model(block, rules)
    # The heuristic allocation: every phase that can use it starts from it, and a phase stopped
    # by the time limit before finding anything returns it instead of nothing.
    gap = OPTIMALITY_GAP if rules.single_source and use_heuristic else 0.0
    possible = _could_meet_everything(block)
    relax = possible and rules.single_source and use_heuristic and _BOUND_FROM_RELAXED
    # Under single_source the start is polished school by school (heuristic.py); when the block
    # without single_source is solved first, only the start it guides is worth polishing.
    start = heuristic(block, rules, polish=not relax) if use_heuristic else None
    polished = not relax
    clock.build += time.perf_counter() - started
    nothing: tuple[list[dict[int, int]], list[int]] = (
        [{} for _ in block.groups],
        [g.quantity for g in block.groups],
    )
    cost = None if start is None else start.cost_pence

    def run(
        limited: bool = True,
        warm: Heuristic | None = None,
        keep: bool = False,
        floor: float | None = None,
        exact: bool = False,
    ) -> _Run:
        """One solver run; from the heuristic (warm) or from the last solution (keep); floor: a
        proven lower bound on the objective from elsewhere (it stops once that is reached)."""
        limit = clock.left(share_of) if limited else None
        if warm is not None:
            model.set_start(warm)
        target = None
        if floor is not None and solver == HIGHS:
            target = _good_enough(floor)
        result = _run(
            model.lp,
            solver,
            limit,
            heuristics=rules.single_source,
            start=warm is not None or keep,
            gap=0.0 if exact else gap,
            target=target,
        )
        clock.solve += result.seconds
        clock.runs += 1
        if floor is not None and result.status in (TIME_LIMIT, "none"):
            bound = floor if result.bound is None else max(result.bound, floor)
            result = replace(result, bound=bound)
        return result

    def make_whole() -> None:
        # With the choices fixed the model is a network flow: quick, so never time-limited.
        _make_whole(model, lambda: run(limited=False, exact=True))

    def heuristic_only(bound: float | None, unmet_bound: int) -> _Outcome:
        assert start is not None
        return _Outcome(TIME_LIMIT, start.purchases, start.unmet, bound, unmet_bound, cost, True)

    # Under single_source the search finds good allocations but proves little: its bound comes
    # from the block without single_source (same rules otherwise), a far easier model whose
    # cheapest way to meet everything no single-source allocation can beat. Stopping within
    # the 1e-4 optimality gap (not below one penny) lets a run end once that bound is reached.
    floor: float | None = None
    if relax:
        relaxed = _Model(_relaxed(block), replace(rules, single_source=False))
        relaxed.meet_everything()
        limit = clock.left(share_of)
        found = _run(relaxed.lp, solver, None if limit is None else limit / 4, heuristics=False)
        clock.solve += found.seconds
        clock.runs += 1
        if found.status == INFEASIBLE:
            possible = False  # not even schools split between offers can all be served
        elif found.bound is not None:
            # Less a margin for the solver's tolerances, so the bound stays a proven one.
            floor = found.bound - 1e-6 * abs(found.bound) - 1
        if found.status in (OPTIMAL, TIME_LIMIT):
            # Whole schools placed after the relaxed allocation: often far cheaper a start.
            flows, _ = relaxed.values()
            targets: Targets = {}
            for group, bought in zip(relaxed.block.groups, flows, strict=True):
                for j, units in bought.items():
                    targets[(group.offers, j)] = targets.get((group.offers, j), 0) + units
            started = time.perf_counter()
            guided = heuristic(block, rules, targets)
            clock.build += time.perf_counter() - started
            if guided is not None and (
                start is None
                or (guided.unmet_total, guided.cost_pence) < (start.unmet_total, start.cost_pence)
            ):
                start = guided
                cost = guided.cost_pence
                polished = True
        if not polished and use_heuristic:
            # No better start from the relaxed block: the first one, polished after all.
            started = time.perf_counter()
            start = heuristic(block, rules)
            clock.build += time.perf_counter() - started
            cost = None if start is None else start.cost_pence
    if possible:
        model.meet_everything()
        meets = start if start is not None and start.unmet_total == 0 else None
        if meets is not None and floor is not None and meets.cost_pence <= _good_enough(floor):
            # The start is already within the optimality gap of the proven bound: nothing for
            # the search to find.
            return _Outcome(OPTIMAL, meets.purchases, meets.unmet, floor, 0, cost), model
        first = run(warm=meets, floor=floor)
        if first.status in (OPTIMAL, TIME_LIMIT):
            make_whole()
            return _Outcome(_settled(first), *model.values(), first.bound, 0, cost), model
        if first.status == "none":
            if meets is not None:
                return heuristic_only(first.bound, 0), model
            if start is not None:
                return heuristic_only(None, 0), model
            return _Outcome("none", *nothing, None, 0, cost), model
    model.meet_most()
    # Unmet units are counted exactly, whatever the rules: the 1e-4 gap is for costs only.
    most = run(warm=start, exact=True)
    if most.status == INFEASIBLE:
        return _Outcome(INFEASIBLE, *nothing, None, None, cost), model
    if most.status == "none":
        if start is not None:
            return heuristic_only(None, _proven_unmet(most)), model
        return _Outcome("none", *nothing, None, _proven_unmet(most), cost), model
    make_whole()
    fallback = model.values()
    # The fewest unmet units: a whole number, and no more than the incumbent's (fractional) sum.
    fewest = math.floor((most.objective or 0.0) + 1e-6)
    unmet_bound = fewest if most.status == OPTIMAL else min(_proven_unmet(most), fewest)
    model.cheapest_meeting_most(fewest)
    if start is not None and start.unmet_total == fewest:
        cheapest = run(warm=start)
    else:
        # Phase 1's whole allocation meets the new bound: start from it.
        cheapest = run(keep=use_heuristic)
    if cheapest.status in (OPTIMAL, TIME_LIMIT):
        make_whole()
        status = OPTIMAL if most.status == _settled(cheapest) == OPTIMAL else TIME_LIMIT
        return _Outcome(status, *model.values(), cheapest.bound, unmet_bound, cost), model
    # Out of time before phase 2 found anything: keep phase 1's allocation, cost unbounded.
    return _Outcome(TIME_LIMIT, *fallback, None, unmet_bound, cost), model


# ---------------------------------------------------------------------------------------------
# Solving an instance


def solve(
    instance: Instance,
    *,
    solver: str = HIGHS,
    time_limit: float | None = None,
    merge: bool = True,
    split_services: bool = True,
    use_heuristic: bool = True,
) -> Result:
    """Allocate the pledges: meet as much demand as possible, then at least total cost.

    merge groups schools with the same service, reachable offers (and, under single_source,
    quantity) into one type; split_services solves each service as its own model. Both give the
    same optimum as the plain school-by-school model (solve_plain) in far less time.
    use_heuristic=False runs the search as before issue 18 (for the bench's comparison): no
    heuristic allocation to start from or fall back on, no bound from the block without
    single_source, exact to the penny under single_source too. Same optimum, but a time limit
    can then leave a block with nothing.
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
    unmet_bound: int | None = 0
    heuristic_pence: int | None = 0
    notes: list[str] = []
    columns = integers = rows = models = 0
    blocks = [b for b in plan.blocks if not any(s in plan.messages for s in b.services)]
    if infeasible:
        blocks = []
    for n, block in enumerate(blocks):
        outcome, model = _solve_block(
            block, instance.rules, solver, clock, len(blocks) - n, use_heuristic
        )
        models += 1
        columns += len(model.decisions) + len(model.flows)
        integers += len(model.decisions)
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
        if outcome.unmet_bound is None or unmet_bound is None:
            unmet_bound = None
        else:
            unmet_bound += outcome.unmet_bound
        if outcome.heuristic_pence is None or heuristic_pence is None:
            heuristic_pence = None
        else:
            heuristic_pence += outcome.heuristic_pence
        if outcome.heuristic_only:
            notes.append(
                f"the search for {', '.join(block.services)} found nothing better than the"
                " heuristic allocation within the time limit"
            )
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
            heuristic_pence=None,
            unmet_bound=None,
        )

    unmet = []
    for pledge in sorted(instance.demand, key=attrgetter("school", "service")):
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
    allocations.sort(key=attrgetter("school", "service", "offer"))
    awards.sort(key=attrgetter("offer"))
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
        heuristic_pence=heuristic_pence if blocks and use_heuristic else None,
        unmet_bound=unmet_bound,
    )


def solve_plain(
    instance: Instance, *, solver: str = HIGHS, time_limit: float | None = None
) -> Result:
    """The plain school-by-school model: one model, one column per school and offer, no merging."""
    return solve(instance, solver=solver, time_limit=time_limit, merge=False, split_services=False)
