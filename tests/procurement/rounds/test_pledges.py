"""Pledging: schools pledge per service and term until the deadline, and only for themselves."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models import AuditEvent, Role
from procurement.optimizer import solve
from procurement.optimizer.instance import instance_from_json
from procurement.rounds.errors import PledgeNotAllowed, PledgingClosed, RoundError, RoundNotFound
from procurement.rounds.inputs import build_inputs
from procurement.rounds.lifecycle import cancel_round, open_round
from procurement.rounds.models import Pledge
from procurement.rounds.pledges import pledges_for_school, save_pledges, withdraw_pledges
from tests.factories import make_user
from tests.procurement.rounds.factories import close, lot_of, make_round_world, pledge


def written() -> tuple[int, int]:
    """(pledges, audit events): what a refused pledge must leave unchanged."""
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Pledge)),
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
    )


def active_quantity(rw, school_id: int) -> int | None:
    found = pledges_for_school(rw.buying_round.id, school_id).get(lot_of(rw))
    return found.quantity if found is not None and found.active else None


def test_a_pledge_can_be_made_changed_withdrawn_and_made_again_before_the_deadline(rw):
    sbm = rw.world.sbm_a
    assert pledge(rw, sbm, 10, approve=False).added == 1
    assert active_quantity(rw, sbm.school_id) == 10
    assert pledge(rw, sbm, 12, approve=False).changed == 1
    assert active_quantity(rw, sbm.school_id) == 12
    assert pledge(rw, sbm, 0, approve=False).withdrawn == 1
    assert active_quantity(rw, sbm.school_id) is None
    assert pledge(rw, sbm, 7, approve=False).added == 1
    assert active_quantity(rw, sbm.school_id) == 7
    assert not pledge(rw, sbm, 7, approve=False).any
    actions = [e.action for e in audit.events_in_scope(f"round:{rw.buying_round.id}")]
    assert actions[-4:] == ["pledged", "changed", "withdrawn", "pledged again"]
    # One row per school, service and term: the history is in the audit trail.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Pledge)) == 1


def test_withdrawing_everything_leaves_the_school_out_of_the_pool(rw):
    pledge(rw, rw.world.sbm_a, 10)
    pledge(rw, rw.world.sbm_b, 5)
    changes = withdraw_pledges(rw.buying_round.id, rw.world.school_a.id, rw.world.sbm_a, rw.now)
    assert changes.withdrawn == 1
    demand = build_inputs(rw.buying_round).instance["demand"]
    assert demand == [
        {
            "school": f"S{rw.world.school_b.id}",
            "service": f"counselling-test@{rw.term.key}",
            "quantity": 5,
        }
    ]


@pytest.mark.parametrize("after", [timedelta(0), timedelta(days=8)])
def test_pledging_after_the_deadline_is_refused_and_changes_nothing(rw, after):
    pledge(rw, rw.world.sbm_a, 10)
    before = written()
    late = rw.buying_round.pledge_deadline_at + after
    with pytest.raises(PledgingClosed, match="Pledging closed on .*nothing was changed"):
        pledge(rw, rw.world.sbm_a, 20, now=late)
    with pytest.raises(PledgingClosed):
        pledge(rw, rw.world.sbm_b, 3, now=late)
    with pytest.raises(PledgingClosed):
        withdraw_pledges(rw.buying_round.id, rw.world.school_a.id, rw.world.sbm_a, late)
    assert written() == before
    assert active_quantity(rw, rw.world.school_a.id) == 10


def test_pledging_after_the_committee_closes_pledging_is_refused(rw):
    close(rw)
    with pytest.raises(PledgingClosed):
        pledge(rw, rw.world.sbm_a, 10, now=rw.now)  # even before the original deadline
    assert active_quantity(rw, rw.world.school_a.id) is None


def test_pledging_for_another_school_is_refused_and_changes_nothing(rw):
    before = written()
    with pytest.raises(PledgeNotAllowed, match="only for your own school"):
        save_pledges(
            rw.buying_round.id, rw.world.school_b.id, {lot_of(rw): 10}, rw.world.sbm_a, rw.now
        )
    assert written() == before
    assert active_quantity(rw, rw.world.school_b.id) is None


@pytest.mark.parametrize("role", [Role.HEAD, Role.COMMITTEE, Role.ADMIN])
def test_only_a_school_business_manager_pledges(rw, role):
    user = make_user(role, school=rw.world.school_a if role is Role.HEAD else None)
    db.session.commit()
    with pytest.raises(PledgeNotAllowed):
        save_pledges(rw.buying_round.id, rw.world.school_a.id, {lot_of(rw): 4}, user, rw.now)
    assert active_quantity(rw, rw.world.school_a.id) is None


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (-1, "cannot be negative"),
        (10_001, "10,000 or fewer"),
        (2.5, "whole number"),
        ("ten", "whole number"),
    ],
)
def test_a_bad_quantity_gets_a_clear_message_and_writes_nothing(rw, quantity, message):
    pledge(rw, rw.world.sbm_a, 10)
    before = written()
    with pytest.raises(RoundError, match=message):
        pledge(rw, rw.world.sbm_a, quantity)
    assert written() == before
    assert active_quantity(rw, rw.world.school_a.id) == 10


def test_a_pledge_for_a_service_or_term_outside_the_round_is_refused(rw):
    with pytest.raises(RoundError, match="only for the round"):
        save_pledges(
            rw.buying_round.id,
            rw.world.school_a.id,
            {(rw.world.core_service.id, rw.term.key): 3},
            rw.world.sbm_a,
            rw.now,
        )
    with pytest.raises(RoundError, match="only for the round"):
        save_pledges(
            rw.buying_round.id,
            rw.world.school_a.id,
            {(rw.world.service.id, "1999-autumn"): 3},
            rw.world.sbm_a,
            rw.now,
        )


def test_a_draft_round_takes_no_pledges_and_a_cancelled_one_says_so(world):
    draft = make_round_world(world, open_now=False)
    with pytest.raises(RoundNotFound):
        pledge(draft, world.sbm_a, 5)
    open_round(draft.buying_round.id, world.committee, draft.now)
    assert pledge(draft, world.sbm_a, 5).added == 1
    cancel_round(draft.buying_round.id, world.committee, draft.now)
    with pytest.raises(PledgingClosed, match="cancelled"):
        pledge(draft, world.sbm_a, 6)


def test_a_round_with_a_standard_quantity_takes_pledges_only_in_its_blocks(world):
    rw = make_round_world(world, pledge_step=5)
    sbm = rw.world.sbm_a
    before = written()
    for quantity, hint in ((7, "try 5 or 10"), (3, "try 5)"), (12, "try 10 or 15")):
        with pytest.raises(
            RoundError, match=f"in blocks of 5: {quantity} is not a multiple of 5"
        ) as refused:
            pledge(rw, sbm, quantity, approve=False)
        assert hint in str(refused.value)
        assert refused.value.field == rw.buying_round.services[0].service.slug + "@" + rw.term.key
    assert written() == before
    assert pledge(rw, sbm, 10, approve=False).added == 1
    assert active_quantity(rw, sbm.school_id) == 10
    assert pledge(rw, sbm, 0, approve=False).withdrawn == 1  # 0 withdraws, whatever the block


def test_equal_pledges_in_blocks_merge_into_one_type_under_single_source(world):
    rw = make_round_world(world, pledge_step=5, single_source=True)
    pledge(rw, rw.world.sbm_a, 10)
    pledge(rw, rw.world.sbm_b, 10)
    result = solve(instance_from_json(build_inputs(rw.buying_round).instance))
    assert result.model is not None and result.model.groups == 1  # two schools, one type
    assert sorted(a.quantity for a in result.allocations) == [10, 10]
