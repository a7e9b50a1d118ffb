"""Indicative prices while pledging, worked out by a job and read by the pages.

The optimizer never runs on a page view. Whenever something a round's instance depends on
changes (a pledge saved, withdrawn or approved; the round opened or its rules changed) the use
case asks for a refresh: a job builds the same instance a run would use, solves it with a short
time limit and stores the answer with the hash of its inputs (`RoundEstimate`). Pages read the
stored answer; when the inputs have changed since (the job has not finished yet, or an offer
changed), they say so and show the last one. A periodic job also refreshes, every minute, any
open round whose stored answer no longer matches its inputs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.cache import cached_figures
from app.extensions import db
from app.jobs import enqueue_after_commit, london_crontab, periodic_task, task
from app.time import utcnow
from app.use_case import use_case
from procurement import optimizer
from procurement.rounds.access import lock_round
from procurement.rounds.answers import Answer, read_answer
from procurement.rounds.inputs import Inputs, build_inputs
from procurement.rounds.models import BuyingRound, RoundEstimate, RoundStatus

log = logging.getLogger(__name__)
INDICATIVE_TIME_LIMIT = 5.0
ESTIMATED_STATUSES = (RoundStatus.DRAFT, RoundStatus.OPEN)


@dataclass(frozen=True)
class Estimate:
    """What the pool would cost, by the optimizer on the pledges as they stood when worked out."""

    answer: Answer | None  # None while the round's first estimate is being worked out
    current: bool  # False: the pledges changed since; a new estimate is on its way
    computed_at: datetime | None
    pool: list[Any] = field(default_factory=list)  # pledges.LotTotal per lot, from the view


def _stored(round_id: int) -> RoundEstimate | None:
    return db.session.scalar(sa.select(RoundEstimate).where(RoundEstimate.round_id == round_id))


def _inputs_now(buying_round: BuyingRound) -> tuple[bool, str]:
    """Whether anyone has pledged, and the hash of the inputs a run would use now: kept in the
    figures cache until the next write (building the inputs reads every pledge and offer)."""

    def build() -> tuple[bool, str]:
        inputs = build_inputs(buying_round, include_awaiting=True)
        return bool(inputs.instance["demand"]), inputs.sha256

    return cached_figures(
        f"round-inputs:{buying_round.id}", build, current_app.config["FIGURES_CACHE_SECONDS"]
    )


def indicative(
    buying_round: BuyingRound, school_id: int | None = None, pool: list[Any] | None = None
) -> Estimate | None:
    """The stored indicative price (and one school's share), or None when nobody has pledged.
    Reads only: the answer was worked out by `refresh_estimate`."""
    has_demand, sha256 = _inputs_now(buying_round)
    if not has_demand:
        return None
    stored = _stored(buying_round.id)
    if stored is None:
        return Estimate(None, False, None, pool or [])
    answer = read_answer(stored.instance, stored.labels, stored.result, school_id)
    current = stored.inputs_sha256 == sha256
    return Estimate(answer, current, stored.computed_at, pool or [])


def request_refresh(round_id: int) -> None:
    """Work the round's indicative price out again once this transaction commits."""
    enqueue_after_commit(refresh_estimate, round_id)


def _solve(inputs: Inputs) -> dict[str, Any]:
    instance = optimizer.instance_from_json(inputs.instance)
    return optimizer.result_to_json(optimizer.solve(instance, time_limit=INDICATIVE_TIME_LIMIT))


def _inputs_to_estimate(round_id: int) -> Inputs | None:
    """The round's inputs when its estimate is missing or out of date, else None."""
    buying_round = db.session.get(BuyingRound, round_id)
    if buying_round is None or buying_round.status not in ESTIMATED_STATUSES:
        return None
    inputs = build_inputs(buying_round, include_awaiting=True)
    stored = _stored(round_id)
    if stored is not None and stored.inputs_sha256 == inputs.sha256:
        return None
    if not inputs.instance["demand"]:
        return None
    return inputs


@use_case
def _store(round_id: int, inputs: Inputs, result: dict[str, Any]) -> RoundEstimate:
    lock_round(round_id)  # one writer per round: no duplicate rows
    stored = _stored(round_id)
    if stored is None:
        stored = RoundEstimate(round_id=round_id)
        db.session.add(stored)
    stored.inputs_sha256 = inputs.sha256
    stored.instance = inputs.instance
    stored.labels = inputs.labels
    stored.result = result
    stored.computed_at = utcnow()
    db.session.flush()
    return stored


def refresh(round_id: int) -> bool:
    """Work out and store the round's indicative price if its stored one is missing or out of
    date; the solve runs outside any transaction (no lock is held while HiGHS works)."""
    inputs = _inputs_to_estimate(round_id)
    db.session.rollback()  # end the read before solving
    if inputs is None:
        return False
    _store(round_id, inputs, _solve(inputs))
    return True


@task(retries=2, retry_delay=10)
def refresh_estimate(round_id: int) -> None:
    refresh(round_id)


@periodic_task(london_crontab(minute="*"))
def refresh_stale_estimates() -> None:
    """Every minute: any draft or open round whose estimate no longer matches its inputs (an
    offer changed, or a refresh was lost)."""
    round_ids = list(
        db.session.scalars(
            sa.select(BuyingRound.id).where(BuyingRound.status.in_(ESTIMATED_STATUSES))
        )
    )
    for round_id in round_ids:
        try:
            refresh(round_id)
        except Exception:  # noqa: BLE001 - one round's failure must not stop the others
            db.session.rollback()
            log.exception("indicative price of round %s", round_id)
