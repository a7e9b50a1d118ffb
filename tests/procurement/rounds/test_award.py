"""Awarding a run: contracts, call-offs, capacity and notices in one go, or nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import audit
from app.extensions import db
from marketplace.orders.models import Order, OrderKind, OrderStatus
from procurement.contracts.models import Contract, ContractSchool, ContractSource, ContractStatus
from procurement.rounds.answers import run_answer
from procurement.rounds.award import award_run
from procurement.rounds.errors import AwardCapacityConflict, RoundStateConflict, RunStateConflict
from procurement.rounds.models import RoundNotice, RoundStatus
from procurement.rounds.runs import queue_run
from tests.procurement.rounds.factories import (
    close,
    count,
    pledge,
    pledging_schools,
    reserved,
    run_now,
)


def awarded(rw):
    """Three schools besides A and B pledge; Beta wins everything at its £210 tier."""
    pledge(rw, rw.world.sbm_a, 10)
    pledge(rw, rw.world.sbm_b, 15)
    pledging_schools(rw, [30])
    close(rw)
    run = run_now(rw)
    summary = award_run(rw.buying_round.id, run.id, rw.world.committee)
    return run, summary


def test_awarding_creates_contracts_call_offs_capacity_and_notices_in_one_go(rw):
    run, summary = awarded(rw)
    assert (summary.contracts, summary.orders, summary.schools) == (1, 3, 3)
    assert summary.total_pence == 55 * 21_000 == run.objective_pence
    (contract,) = db.session.scalars(
        sa.select(Contract).where(Contract.source == ContractSource.ROUND)
    )
    assert contract.source_id == rw.buying_round.id
    assert contract.provider_id == rw.world.provider_b.id
    assert contract.status is ContractStatus.ACTIVE
    assert (contract.starts_on, contract.ends_on) == (rw.term.starts_on, rw.term.ends_on)
    assert [(t.min_quantity, t.unit_price_pence) for t in contract.tiers] == [(0, 21_000)]
    members = {m.school_id: m for m in contract.schools}
    assert members[rw.world.school_a.id].allocated_quantity == 10
    assert sum(m.charge_pence for m in members.values()) == 55 * 21_000
    orders = list(db.session.scalars(sa.select(Order).order_by(Order.school_id)))
    assert {o.kind for o in orders} == {OrderKind.CALL_OFF}
    assert {o.status for o in orders} == {OrderStatus.CONFIRMED}
    assert {o.contract_id for o in orders} == {contract.id}
    assert sum(o.total_pence for o in orders) == 55 * 21_000
    for order in orders:
        assert order.total_pence == members[order.school_id].charge_pence
        assert order.term_key == rw.term.key and order.offer_id == rw.offer_b.id
    # Every school pays no more than alone (capacity and rules do not bind here).
    for line in run_answer(run).lines:
        assert line.charge_pence <= line.standalone_pence
    assert reserved(rw.offer_b, rw.term) == 55 and reserved(rw.offer_a, rw.term) == 0
    notices = list(db.session.scalars(sa.select(RoundNotice)))
    assert len(notices) == 3
    notice_a = next(n for n in notices if n.school_id == rw.world.school_a.id)
    assert "10 days from Beta Therapy Ltd" in notice_a.message and "you save" in notice_a.message
    assert rw.buying_round.status is RoundStatus.AWARDED
    assert run.awarded_at is not None
    event = audit.events_in_scope(f"round:{rw.buying_round.id}")[-1]
    assert event.action == "awarded" and event.after["orders"] == 3


def test_a_second_award_of_the_same_round_is_refused_and_changes_nothing(rw):
    run, _ = awarded(rw)
    before = (count(Contract), count(ContractSchool), count(Order), count(RoundNotice))
    with pytest.raises(RoundStateConflict, match="already been awarded .run 1.; nothing"):
        award_run(rw.buying_round.id, run.id, rw.world.committee)
    with pytest.raises(RoundStateConflict):
        queue_run(rw.buying_round.id, rw.world.committee)
    assert (count(Contract), count(ContractSchool), count(Order), count(RoundNotice)) == before
    assert reserved(rw.offer_b, rw.term) == 55


def test_an_award_is_refused_whole_when_capacity_went_elsewhere_since_the_run(rw):
    pledge(rw, rw.world.sbm_a, 30)
    pledge(rw, rw.world.sbm_b, 25)
    close(rw)
    run = run_now(rw)
    capacity = next(c for c in rw.offer_b.capacities if c.term_key == rw.term.key)
    capacity.reserved = 40  # someone ordered from Beta meanwhile
    db.session.commit()
    with pytest.raises(AwardCapacityConflict, match="Beta Therapy Ltd can no longer take 55"):
        award_run(rw.buying_round.id, run.id, rw.world.committee)
    assert (count(Contract), count(Order), count(RoundNotice)) == (0, 0, 0)
    assert reserved(rw.offer_b, rw.term) == 40
    db.session.refresh(rw.buying_round)
    assert rw.buying_round.status is RoundStatus.RUN
    # Run again with today's capacity: now the pool splits and can be awarded.
    again = run_now(rw)
    assert again.inputs_sha256 != run.inputs_sha256
    award_run(rw.buying_round.id, again.id, rw.world.committee)
    assert reserved(rw.offer_b, rw.term) <= 80


def test_a_run_whose_figures_do_not_add_up_is_not_billed(rw):
    pledge(rw, rw.world.sbm_a, 30)
    close(rw)
    run = run_now(rw)
    result = dict(run.result)
    result["charges"] = [dict(c, charge_pence=c["charge_pence"] - 1) for c in result["charges"]]
    run.result = result
    db.session.commit()
    with pytest.raises(RunStateConflict, match="do not add up"):
        award_run(rw.buying_round.id, run.id, rw.world.committee)
    assert count(Contract) == 0
