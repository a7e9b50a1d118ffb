"""Buying rounds as use cases: opening, the optimizer's inputs, runs, and the award."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models import AuditEvent, Role
from app.time import utcnow
from marketplace.offers.models import OfferCapacity, OfferStatus
from marketplace.orders.models import Order, OrderKind, OrderStatus
from procurement import optimizer
from procurement.contracts.models import Contract, ContractSchool, ContractSource, ContractStatus
from procurement.rounds import services as rounds
from procurement.rounds.errors import (
    AwardCapacityConflict,
    RoundError,
    RoundStateConflict,
    RunStateConflict,
)
from procurement.rounds.models import BuyingRound, RoundNotice, RoundRun, RoundStatus, RunStatus
from tests.factories import make_school, make_user
from tests.procurement.rounds.factories import (
    close,
    future_term,
    make_round_world,
    offer_for,
    pledge,
    pledging_schools,
)


@pytest.fixture
def rw(world):  # type: ignore[no-untyped-def]
    return make_round_world(world)


def round_input(world, offers, **changes):  # type: ignore[no-untyped-def]
    values = {
        "title": "Counselling",
        "description": "",
        "service_ids": [world.service.id],
        "term_keys": [future_term().key],
        "offer_ids": [o.id for o in offers],
        "pledge_deadline_at": utcnow() + timedelta(days=7),
        "max_share_percent": 100,
        "min_providers": 1,
        "single_source": False,
        "open_now": True,
    }
    values.update(changes)
    return rounds.RoundInput(**values)


def count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def reserved(offer, term) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(
        sa.select(OfferCapacity.reserved).where(
            OfferCapacity.offer_id == offer.id, OfferCapacity.term_key == term.key
        )
    )


def run_now(rw, **kwargs):  # type: ignore[no-untyped-def]
    """Queue a run after the deadline and solve it here."""
    run = rounds.queue_run(rw.buying_round.id, rw.world.committee, **kwargs)
    return rounds.execute_run(run.id)


# Opening a round -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"offer_ids": []}, "offer_ids", "a round with no offers cannot be priced"),
        ({"title": "  "}, "title", "Enter a title"),
        ({"service_ids": []}, "service_ids", "at least one service"),
        ({"term_keys": []}, "term_keys", "at least one term"),
        ({"term_keys": ["2001-autumn"]}, "term_keys", "already over"),
        ({"pledge_deadline_at": None}, "deadline_on", "Enter the pledge deadline"),
        ({"max_share_percent": 0}, "max_share_percent", "between 1% and 100%"),
        ({"min_providers": 0}, "min_providers", "between 1 and 20"),
    ],
)
def test_a_round_with_bad_input_is_refused_with_a_clear_message_and_nothing_written(
    world, changes, field, message
):
    term = future_term()
    offer = offer_for(world.provider_a, world.service, term, tiers=[(0, 25_000)], capacity=10)
    db.session.commit()
    before = (count(BuyingRound), count(AuditEvent))
    with pytest.raises(RoundError, match=message) as refused:
        rounds.create_round(round_input(world, [offer], **changes), world.committee)
    assert refused.value.field == field
    assert (count(BuyingRound), count(AuditEvent)) == before


def test_the_deadline_must_be_in_the_future_and_before_the_first_term_starts(world):
    term = future_term()
    offer = offer_for(world.provider_a, world.service, term, tiers=[(0, 25_000)], capacity=10)
    db.session.commit()
    with pytest.raises(RoundError, match="must be in the future"):
        rounds.create_round(
            round_input(world, [offer], pledge_deadline_at=utcnow() - timedelta(minutes=1)),
            world.committee,
        )
    with pytest.raises(RoundError, match="before Spring .* starts"):
        rounds.create_round(
            round_input(world, [offer], pledge_deadline_at=utcnow() + timedelta(days=900)),
            world.committee,
        )


def test_offers_must_fit_the_round(world):
    term = future_term()
    mine = offer_for(world.provider_a, world.service, term, tiers=[(0, 25_000)], capacity=10)
    second = offer_for(world.provider_a, world.service, term, tiers=[(0, 24_000)], capacity=10)
    other_service = offer_for(
        world.provider_b, world.core_service, term, tiers=[(0, 9_000)], capacity=10
    )
    this_year_only = world.offer_b  # no capacity in next year's spring term
    withdrawn = offer_for(world.provider_b, world.service, term, tiers=[(0, 1)], capacity=10)
    withdrawn.status = OfferStatus.WITHDRAWN
    db.session.commit()
    cases = [
        ([mine, other_service], "which the round does not cover"),
        ([mine, second], "has two offers for School counselling: choose one"),
        ([this_year_only], "No offer you chose provides School counselling in Spring"),
        ([mine, withdrawn], "is not live"),
    ]
    for offers, message in cases:
        with pytest.raises(RoundError, match=message):
            rounds.create_round(round_input(world, offers), world.committee)
    assert count(BuyingRound) == 0


def test_opening_a_round_records_it_and_a_draft_opens_later(world):
    draft = make_round_world(world, open_now=False)
    buying_round = draft.buying_round
    assert buying_round.status is RoundStatus.DRAFT
    assert [ro.offer_id for ro in buying_round.offers] == [draft.offer_a.id, draft.offer_b.id]
    rounds.open_round(buying_round.id, world.committee)
    assert buying_round.status is RoundStatus.OPEN and buying_round.opened_at is not None
    with pytest.raises(RoundStateConflict):
        rounds.open_round(buying_round.id, world.committee)
    actions = [e.action for e in audit.events_in_scope(f"round:{buying_round.id}")]
    assert actions == ["created", "opened"]


# The optimizer's inputs --------------------------------------------------------------------


def test_the_inputs_use_capacity_left_exclusions_areas_and_only_active_pledges(rw):
    world = rw.world
    hub = make_school("Hub Primary School", area="Acton")
    far = make_school("Far Primary School", area="Southall")
    hub_sbm = make_user(Role.SBM, school=hub)
    far_sbm = make_user(Role.SBM, school=far)
    world.provider_a.school_id = hub.id  # Alpha is the hub school's own provider
    rw.offer_a.excluded_school_ids = [world.school_b.id]
    rw.offer_b.areas = ["Ealing", "Acton"]
    capacity = next(c for c in rw.offer_a.capacities if c.term_key == rw.term.key)
    capacity.reserved = 30
    db.session.commit()
    pledge(rw, hub_sbm, 3)
    pledge(rw, far_sbm, 2)
    pledge(rw, world.sbm_a, 10)
    pledge(rw, world.sbm_b, 5)
    pledge(rw, world.sbm_b, 0)  # withdrawn again
    inputs = rounds.build_inputs(rw.buying_round)
    instance = inputs.instance
    lot = f"counselling-test@{rw.term.key}"
    demand = {d["school"]: d["quantity"] for d in instance["demand"]}
    assert demand[f"S{hub.id}"] == 3 and demand[f"S{far.id}"] == 2
    assert demand[f"S{world.school_a.id}"] == 10 and f"S{world.school_b.id}" not in demand
    offers = {o["id"]: o for o in instance["offers"]}
    a = offers[f"O{rw.offer_a.id}@{rw.term.key}"]
    b = offers[f"O{rw.offer_b.id}@{rw.term.key}"]
    assert a["capacity"] == 70 and b["capacity"] == 80
    assert a["service"] == b["service"] == lot
    assert a["tiers"] == [
        {"from": 0, "unit_price_pence": 25_000},
        {"from": 20, "unit_price_pence": 23_000},
    ]
    assert f"S{hub.id}" in a["excluded_schools"]  # its own provider
    assert f"S{far.id}" in b["excluded_schools"]  # outside Beta's areas
    assert f"S{hub.id}" not in b["excluded_schools"]
    assert instance["rules"] == {"max_share": 1.0, "min_providers": 1, "single_source": False}
    optimizer.instance_from_json(instance)  # a valid optimizer instance
    assert inputs.labels["lots"][lot]["term_key"] == rw.term.key
    # The same database state gives the same inputs, byte for byte.
    assert rounds.build_inputs(rw.buying_round).sha256 == inputs.sha256


# Runs ----------------------------------------------------------------------------------------


def test_a_run_before_the_deadline_or_without_pledges_is_refused(rw):
    pledge(rw, rw.world.sbm_a, 10)
    with pytest.raises(RoundStateConflict, match="Schools can pledge until"):
        rounds.queue_run(rw.buying_round.id, rw.world.committee)
    rounds.withdraw_pledges(rw.buying_round.id, rw.world.school_a.id, rw.world.sbm_a, rw.now)
    close(rw)
    with pytest.raises(RoundStateConflict, match="No school pledged"):
        rounds.queue_run(rw.buying_round.id, rw.world.committee)
    assert count(RoundRun) == 0


def test_a_run_records_inputs_solver_status_bound_gap_and_time_and_the_round_can_be_awarded(rw):
    pledge(rw, rw.world.sbm_a, 30)
    pledge(rw, rw.world.sbm_b, 25)
    close(rw)
    run = run_now(rw)
    assert run.status is RunStatus.DONE and run.outcome == "optimal"
    assert run.solver_label.startswith("HiGHS")
    assert run.objective_pence == 55 * 21_000 == run.bound_pence
    assert run.gap == 0.0 and run.seconds is not None and run.seconds >= 0
    assert run.started_at is not None and run.finished_at >= run.started_at
    assert run.inputs["rules"]["max_share"] == 1.0
    assert rw.buying_round.status is RoundStatus.RUN
    assert [e.action for e in audit.history("round_run", run.id)] == ["queued", "finished"]


def test_same_inputs_give_the_same_answer_and_changed_rules_a_new_one(rw):
    pledge(rw, rw.world.sbm_a, 30)
    pledge(rw, rw.world.sbm_b, 25)
    close(rw)
    first = run_now(rw)
    second = run_now(rw)
    assert second.number == first.number + 1
    assert second.inputs_sha256 == first.inputs_sha256
    assert second.answer_sha256 == first.answer_sha256
    assert second.result["allocations"] == first.result["allocations"]
    assert rounds.same_input_runs(second) == [(first, True)]
    rounds.change_rules(
        rw.buying_round.id,
        max_share_percent=60,
        min_providers=2,
        single_source=False,
        actor=rw.world.committee,
    )
    third = run_now(rw)
    assert third.inputs_sha256 != first.inputs_sha256
    assert third.outcome == "optimal"
    assert len({a["provider"] for a in third.result["awards"]}) == 2
    assert third.objective_pence > first.objective_pence  # resilience costs something
    assert rounds.same_input_runs(third) == []


def test_an_infeasible_run_is_kept_with_its_reason_and_cannot_be_awarded(rw):
    pledge(rw, rw.world.sbm_a, 10)
    close(rw)
    rounds.change_rules(
        rw.buying_round.id,
        max_share_percent=100,
        min_providers=3,
        single_source=False,
        actor=rw.world.committee,
    )
    run = run_now(rw)
    assert run.status is RunStatus.DONE and run.outcome == "infeasible"
    assert "min_providers" in run.message or "providers" in run.message
    assert rw.buying_round.status is RoundStatus.CLOSED  # nothing to award
    before = (count(Contract), count(Order), count(RoundNotice))
    with pytest.raises(RunStateConflict, match="found no allocation that meets the rules"):
        rounds.award_run(rw.buying_round.id, run.id, rw.world.committee)
    assert (count(Contract), count(Order), count(RoundNotice)) == before
    assert reserved(rw.offer_a, rw.term) == reserved(rw.offer_b, rw.term) == 0


def test_only_one_run_at_a_time_and_a_run_is_solved_once(rw):
    pledge(rw, rw.world.sbm_a, 10)
    close(rw)
    run = rounds.queue_run(rw.buying_round.id, rw.world.committee)
    with pytest.raises(RunStateConflict, match="still queued"):
        rounds.queue_run(rw.buying_round.id, rw.world.committee)
    rounds.execute_run(run.id)
    with pytest.raises(RunStateConflict, match="already started"):
        rounds.execute_run(run.id)


def test_a_run_whose_process_died_is_marked_failed_when_the_next_one_starts(rw):
    pledge(rw, rw.world.sbm_a, 10)
    close(rw)
    stuck = rounds.queue_run(rw.buying_round.id, rw.world.committee, time_limit_seconds=5)
    later = utcnow() + timedelta(minutes=10)
    assert stuck.stalled(later)
    fresh = rounds.queue_run(rw.buying_round.id, rw.world.committee, now=later)
    assert stuck.status is RunStatus.FAILED and "process stopped" in stuck.error
    assert fresh.status is RunStatus.QUEUED


def test_a_run_that_breaks_is_recorded_as_failed(rw):
    pledge(rw, rw.world.sbm_a, 10)
    close(rw)
    run = rounds.queue_run(rw.buying_round.id, rw.world.committee)
    run.inputs = {**run.inputs, "offers": [{"id": "broken"}]}
    db.session.commit()
    rounds.execute_run(run.id)
    assert run.status is RunStatus.FAILED
    assert "offers[0]" in run.error


# The award -----------------------------------------------------------------------------------


def awarded(rw):  # type: ignore[no-untyped-def]
    """Three schools besides A and B pledge; Beta wins everything at its £210 tier."""
    pledge(rw, rw.world.sbm_a, 10)
    pledge(rw, rw.world.sbm_b, 15)
    pledging_schools(rw, [30])
    close(rw)
    run = run_now(rw)
    summary = rounds.award_run(rw.buying_round.id, run.id, rw.world.committee)
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
    for line in rounds.run_answer(run).lines:
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
        rounds.award_run(rw.buying_round.id, run.id, rw.world.committee)
    with pytest.raises(RoundStateConflict):
        rounds.queue_run(rw.buying_round.id, rw.world.committee)
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
        rounds.award_run(rw.buying_round.id, run.id, rw.world.committee)
    assert (count(Contract), count(Order), count(RoundNotice)) == (0, 0, 0)
    assert reserved(rw.offer_b, rw.term) == 40
    db.session.refresh(rw.buying_round)
    assert rw.buying_round.status is RoundStatus.RUN
    # Run again with today's capacity: now the pool splits and can be awarded.
    again = run_now(rw)
    assert again.inputs_sha256 != run.inputs_sha256
    rounds.award_run(rw.buying_round.id, again.id, rw.world.committee)
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
        rounds.award_run(rw.buying_round.id, run.id, rw.world.committee)
    assert count(Contract) == 0


def test_cancelling_stops_pledges_runs_and_awards_and_tells_the_pledging_schools(rw):
    pledge(rw, rw.world.sbm_a, 10)
    pledge(rw, rw.world.sbm_b, 4)
    pledge(rw, rw.world.sbm_b, 0)
    rounds.cancel_round(rw.buying_round.id, rw.world.committee)
    (notice,) = db.session.scalars(sa.select(RoundNotice))
    assert notice.school_id == rw.world.school_a.id and "cancelled" in notice.message
    assert rounds.can_see_round(rw.buying_round, rw.world.sbm_a)  # it was announced
    with pytest.raises(RoundStateConflict, match="cancelled"):
        rounds.queue_run(rw.buying_round.id, rw.world.committee, now=utcnow() + timedelta(days=30))
    with pytest.raises(RoundStateConflict):
        rounds.cancel_round(rw.buying_round.id, rw.world.committee)


def test_the_demo_round_is_open_with_pledges_and_seeding_again_adds_nothing(runner):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    (demo,) = db.session.scalars(
        sa.select(BuyingRound).where(BuyingRound.title == rounds.DEMO_ROUND_TITLE)
    )
    assert demo.status is RoundStatus.OPEN and demo.pledge_deadline_at > utcnow()
    estimate = rounds.indicative(demo)
    assert estimate is not None and estimate.pool[0].schools >= 10
    assert estimate.answer.awards
    assert rounds.seed_demo_round() == 0
    # Beside it, the demo's past round (marketplace.demo_activity), awarded before this term.
    assert count(BuyingRound) == 2
    past = db.session.scalar(sa.select(BuyingRound).where(BuyingRound.id != demo.id))
    assert past.status is RoundStatus.AWARDED
