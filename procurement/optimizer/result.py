"""The aggregator's answer: status, awards, allocations, charges and checks, and their JSON form.

Pure: the standard library only. The result format is described in docs/aggregator.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OPTIMAL = "optimal"
TIME_LIMIT = "time_limit"
INFEASIBLE = "infeasible"
STATUSES = (OPTIMAL, TIME_LIMIT, INFEASIBLE)


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
    cap_pence: int = 0  # the most it is charged while the caps cover the cost (see checks)


@dataclass(frozen=True)
class ServiceCheck:
    """Individual rationality of one service's charges: who pays more than alone, if anyone."""

    service: str
    pooled_pence: int
    standalone_sum_pence: int | None
    must_hold: bool
    violations: tuple[str, ...]
    caps_sum_pence: int = 0
    caps_cover: bool = True  # False: the cost exceeds the caps, charged in proportion to them

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
    # The heuristic allocation's cost, summed over the blocks (None when it found none for some
    # block, or was not run); the search starts from it, so objective_pence is at most it.
    heuristic_pence: int | None = None
    # The proven least number of unmet units (phase 1's bound), summed over the services; equal
    # to the unmet units when that is proven; None when infeasible.
    unmet_bound: int | None = None


def result_to_json(result: Result) -> dict[str, Any]:
    """The JSON form of a result (see docs/aggregator.md)."""
    return {
        "status": result.status,
        "message": result.message,
        "objective_pence": result.objective_pence,
        "bound_pence": result.bound_pence,
        "gap": result.gap,
        "heuristic_pence": result.heuristic_pence,
        "unmet_bound": result.unmet_bound,
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
                "cap_pence": c.cap_pence,
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
                "caps_sum_pence": c.caps_sum_pence,
                "caps_cover": c.caps_cover,
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
