"""Indicative prices while pledging, from the optimizer itself on the current pledges.

The same instance a run would use, solved with a short time limit and cached by the
instance's hash: the tier the pool reaches and the school's share under the sharing rule
beside its stand-alone price.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from procurement import optimizer
from procurement.rounds.answers import Answer, read_answer
from procurement.rounds.inputs import Inputs, build_inputs
from procurement.rounds.models import BuyingRound
from procurement.rounds.pledges import LotTotal, pledge_totals

INDICATIVE_TIME_LIMIT = 5.0

# Solved instances by their hash, the most recently used last.
_ESTIMATES: OrderedDict[str, dict[str, Any]] = OrderedDict()
_ESTIMATES_LOCK = threading.Lock()
_ESTIMATES_KEPT = 64


@dataclass(frozen=True)
class Estimate:
    """What the pool would cost now, by the optimizer on the current pledges."""

    inputs: Inputs
    result: dict[str, Any]
    answer: Answer
    pool: list[LotTotal] = field(default_factory=list)


def _solve_cached(inputs: Inputs) -> dict[str, Any]:
    key = inputs.sha256
    with _ESTIMATES_LOCK:
        if key in _ESTIMATES:
            _ESTIMATES.move_to_end(key)
            return _ESTIMATES[key]
    result = optimizer.result_to_json(
        optimizer.solve(
            optimizer.instance_from_json(inputs.instance), time_limit=INDICATIVE_TIME_LIMIT
        )
    )
    with _ESTIMATES_LOCK:
        _ESTIMATES[key] = result
        while len(_ESTIMATES) > _ESTIMATES_KEPT:
            _ESTIMATES.popitem(last=False)
    return result


def indicative(buying_round: BuyingRound, school_id: int | None = None) -> Estimate | None:
    """The pool's price now (and one school's share), or None when nobody has pledged."""
    inputs = build_inputs(buying_round, include_awaiting=True)
    if not inputs.instance["demand"]:
        return None
    result = _solve_cached(inputs)
    answer = read_answer(inputs.instance, inputs.labels, result, school_id)
    return Estimate(inputs, result, answer, pledge_totals(buying_round))
