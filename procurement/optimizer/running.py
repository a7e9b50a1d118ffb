"""Running a solver on a PuLP problem: HiGHS in process (handed the model in bulk, with a MIP
start) or CBC, its status, objective and proven bound read back.

Pure: the standard library, PuLP and (through PuLP) highspy.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import cache

import pulp

from procurement.optimizer.result import INFEASIBLE, OPTIMAL, TIME_LIMIT

HIGHS = "highs"
CBC = "cbc"
SOLVERS = (HIGHS, CBC)

# Every objective the solver sees is a whole number (pence or units), so a proven bound less than
# one unit below the best solution proves that solution optimal: the solver is asked for that.
_ABSOLUTE_GAP = 0.999
# A solve stopped by the time limit still counts as optimal within this relative gap.
OPTIMALITY_GAP = 1e-4
# HiGHS's sub-MIP and search heuristics (RINS, RENS, feasibility jump, root reduced cost) cost
# more than they save when the only integer choices are the price bands: at 1k they took three
# quarters of the solver's time on the merged blocks (and on the school-level ones too), while the
# root LP, cuts and branching find the optimum alone. Under single_source the whole-school counts
# make incumbents hard to find, and there the heuristics pay (elp: 2.5x faster with them), so they
# stay on. The choice depends on the rules only: merged or not, a model gets the same options.
_NO_HEURISTICS = {
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_root_reduced_cost": False,
}

# ---------------------------------------------------------------------------------------------
# Running a solver


@dataclass(frozen=True)
class _Run:
    status: str  # optimal, time_limit, infeasible or none (stopped before any solution)
    objective: float | None
    bound: float | None
    seconds: float


def _finite(bound: float | None) -> float | None:
    """A dual bound the solver actually proved (HiGHS reports +-inf or nan when it has none)."""
    if bound is None or not math.isfinite(bound):
        return None
    return bound


@cache
def solver_name(solver: str) -> str:
    """The solver's name and version, e.g. 'HiGHS 1.15.1'."""
    if solver == HIGHS:
        import highspy

        # highspy's Highs() has an unannotated __init__.
        return f"HiGHS {highspy.Highs().version()}"  # type: ignore[no-untyped-call]
    path = pulp.PULP_CBC_CMD().path
    try:
        banner = subprocess.run(
            [path], input="quit\n", capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        banner = ""
    found = re.search(r"Version:\s*(\S+)", banner)
    return f"CBC {found.group(1)}" if found else "CBC"


class _HiGHS(pulp.HiGHS):  # type: ignore[misc]
    """PuLP's in-process HiGHS, handing the model over in three bulk calls instead of one per
    column and row (same columns in the same order, so the same model and the same answer), and
    with start=True the variables' values (varValue) as a MIP start (PuLP's in-process HiGHS
    ignores warmStart)."""

    start = False

    def buildSolverModel(self, lp: pulp.LpProblem) -> None:  # noqa: N802 (PuLP's name)
        import highspy

        inf = highspy.kHighsInf
        variables = lp.variables()
        objective = lp.objective
        costs: list[float] = []
        lower: list[float] = []
        upper: list[float] = []
        integers: list[int] = []
        for i, var in enumerate(variables):
            var.index = i
            costs.append(objective.get(var, 0.0))
            lower.append(-inf if var.lowBound is None else var.lowBound)
            upper.append(inf if var.upBound is None else var.upBound)
            if var.cat == pulp.LpInteger and self.mip:
                integers.append(i)
        highs = lp.solverModel
        count = len(variables)
        highs.addCols(count, costs, lower, upper, 0, [0] * (count + 1), [], [])
        if integers:
            kinds = [int(highspy.HighsVarType.kInteger)] * len(integers)
            highs.changeColsIntegrality(len(integers), integers, kinds)
        row_lower: list[float] = []
        row_upper: list[float] = []
        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        for i, constraint in enumerate(lp._constraints.values()):
            constraint.index = i
            starts.append(len(index))
            for var, coefficient in constraint.items():
                if coefficient != 0:
                    index.append(var.index)
                    value.append(coefficient)
            low, high = constraint.getLb(), constraint.getUb()
            row_lower.append(-inf if low is None else low)
            row_upper.append(inf if high is None else high)
        if row_lower:
            highs.addRows(len(row_lower), row_lower, row_upper, len(index), starts, index, value)
        if self.start:
            solution = highspy.HighsSolution()
            solution.col_value = [var.varValue or 0.0 for var in variables]
            solution.value_valid = True
            highs.setSolution(solution)


def _run(
    lp: pulp.LpProblem,
    solver: str,
    time_limit: float | None,
    heuristics: bool = True,
    start: bool = False,
    gap: float = 0.0,
    target: float | None = None,
) -> _Run:
    """Solve lp; with start, from the variables' current values (a MIP start); gap: the relative
    gap at which the solver may stop (besides the absolute gap below one unit); target: HiGHS
    stops once it has a solution at least this good (reported as stopped early, TIME_LIMIT)."""
    started = time.perf_counter()
    if solver == HIGHS:
        import highspy

        options: dict[str, float | bool] = {} if heuristics else dict(_NO_HEURISTICS)
        if target is not None:
            options["objective_target"] = target
        engine = _HiGHS(
            msg=False, timeLimit=time_limit, gapRel=gap, gapAbs=_ABSOLUTE_GAP, **options
        )
        engine.start = start
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
        stopped = (
            kinds.kTimeLimit,
            kinds.kInterrupt,
            kinds.kIterationLimit,
            kinds.kObjectiveTarget,
        )
        if status in stopped:
            if found:
                objective = info.objective_function_value
                return _Run(TIME_LIMIT, objective, _finite(info.mip_dual_bound), seconds)
            return _Run("none", None, _finite(info.mip_dual_bound), seconds)
        raise RuntimeError(f"HiGHS stopped with {highs.modelStatusToString(status)}")

    handle, log_path = tempfile.mkstemp(prefix="pooled-cbc-", suffix=".log")
    os.close(handle)
    try:
        engine = pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=time_limit,
            gapRel=gap,
            gapAbs=_ABSOLUTE_GAP,
            logPath=log_path,
            warmStart=start,
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
