"""The pooled-buying aggregator: allocate schools' pledged demand across offers at least cost.

A pure package: it imports the standard library, PuLP and (through PuLP) highspy, and the pure
money module for its one largest-remainder split — never Flask, SQLAlchemy or the app's database.
This module is its interface (docs/aggregator.md describes the formats, the model and the
sharing rule); the modules behind it are cut along the seams:

    instance  the input (School, Demand, Tier, Offer, Rules, Instance), validation, JSON
    result    the answer (Award, Allocation, Unmet, Charge, ServiceCheck, Result), JSON
    model     usable offers, price bands, groups of schools, and one block as a PuLP model
    solve     running HiGHS or CBC, the phases, the shared time limit, solve / solve_plain
    charges   stand-alone prices, splitting purchases back to schools, the sharing rule
    cli       python -m procurement.optimizer INSTANCE.json [--solver highs|cbc]
              [--time-limit SECONDS] [--plain]
"""

from procurement.optimizer.charges import standalone_pence
from procurement.optimizer.instance import (
    Demand,
    Instance,
    InstanceError,
    Offer,
    Rules,
    School,
    Tier,
    instance_from_json,
    instance_to_json,
    validate_instance,
)
from procurement.optimizer.result import (
    INFEASIBLE,
    OPTIMAL,
    STATUSES,
    TIME_LIMIT,
    Allocation,
    Award,
    Charge,
    ModelSize,
    Result,
    Seconds,
    ServiceCheck,
    Unmet,
    result_to_json,
)
from procurement.optimizer.running import CBC, HIGHS, OPTIMALITY_GAP, SOLVERS, solver_name
from procurement.optimizer.solve import solve, solve_plain

__all__ = [
    "CBC",
    "HIGHS",
    "INFEASIBLE",
    "OPTIMAL",
    "OPTIMALITY_GAP",
    "SOLVERS",
    "STATUSES",
    "TIME_LIMIT",
    "Allocation",
    "Award",
    "Charge",
    "Demand",
    "Instance",
    "InstanceError",
    "ModelSize",
    "Offer",
    "Result",
    "Rules",
    "School",
    "Seconds",
    "ServiceCheck",
    "Tier",
    "Unmet",
    "instance_from_json",
    "instance_to_json",
    "result_to_json",
    "solve",
    "solve_plain",
    "solver_name",
    "standalone_pence",
    "validate_instance",
]
