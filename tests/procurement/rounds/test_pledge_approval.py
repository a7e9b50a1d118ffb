"""Pledges follow the schools' approval rule, and call-offs carry the school's own PO number.

Round world: Alpha £250 a day (£230 from 20), Beta £270 a day (£210 from 50); each school's
approval threshold is £2,500. A pledge's estimate is its quantity alone at the dearest offer.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Role
from marketplace.orders.models import Order, OrderKind, OrderStatus
from procurement.rounds.approvals import approve_pledges, awaiting
from procurement.rounds.award import award_run, call_offs_for_school
from procurement.rounds.errors import PledgeNotAllowed, PledgingClosed, RoundError, RunStateConflict
from procurement.rounds.forms import lot_field_name
from procurement.rounds.inputs import build_inputs
from procurement.rounds.pledges import pledges_for_school
from procurement.rounds.rules import PriceList, pledge_estimate_pence
from tests.factories import make_user
from tests.procurement.rounds.factories import (
    close,
    head_of,
    lot_of,
    pledge,
    pledging_schools,
    run_now,
)


def the_pledge(rw, school_id):
    return pledges_for_school(rw.buying_round.id, school_id)[lot_of(rw)]


def demand_schools(rw) -> set[str]:
    return {d["school"] for d in build_inputs(rw.buying_round).instance["demand"]}


def test_the_estimate_is_the_quantity_alone_at_the_dearest_offer_with_its_set_up():
    alpha = PriceList(((0, 25_000), (20, 23_000)))
    beta = PriceList(((0, 27_000), (50, 21_000)), setup_pence=5_000)
    assert pledge_estimate_pence(5, [alpha, beta]) == 5 * 27_000 + 5_000
    assert pledge_estimate_pence(60, [alpha, beta]) == 60 * 23_000  # Beta: 60 × £210 + £50
    assert pledge_estimate_pence(5, []) == 0


def test_a_pledge_within_the_threshold_is_approved_when_made(rw):
    sbm = rw.world.sbm_a
    pledge(rw, sbm, 9, approve=False)  # 9 × £270 = £2,430
    made = the_pledge(rw, sbm.school_id)
    assert made.estimated_pence == 243_000
    assert made.approved and made.approved_by_id == sbm.id
    assert awaiting(rw.buying_round.id) == []
    assert demand_schools(rw) == {f"S{sbm.school_id}"}


def test_a_pledge_over_the_threshold_waits_for_the_head_and_takes_no_part_until_approved(rw):
    sbm, head = rw.world.sbm_a, rw.world.head_a
    pledge(rw, sbm, 10, approve=False)  # 10 × £270 = £2,700
    made = the_pledge(rw, sbm.school_id)
    assert made.estimated_pence == 270_000 and not made.approved
    assert demand_schools(rw) == set()
    skipped = build_inputs(rw.buying_round).labels["skipped"]
    assert any(rw.world.school_a.name in s and "not approved" in s for s in skipped)
    # The indicative price while pledging still counts it.
    assert build_inputs(rw.buying_round, include_awaiting=True).instance["demand"]

    with pytest.raises(PledgeNotAllowed, match="Only your school’s head"):
        approve_pledges(rw.buying_round.id, sbm.school_id, sbm, rw.now)
    other_head = make_user(Role.HEAD, school=rw.world.school_b)
    with pytest.raises(PledgeNotAllowed):
        approve_pledges(rw.buying_round.id, sbm.school_id, other_head, rw.now)
    assert not the_pledge(rw, sbm.school_id).approved

    approved = approve_pledges(rw.buying_round.id, sbm.school_id, head, rw.now)
    assert [p.id for p in approved] == [made.id]
    assert made.approved and made.approved_by_id == head.id
    assert demand_schools(rw) == {f"S{sbm.school_id}"}


def test_raising_an_approved_pledge_asks_the_head_again_and_lowering_it_does_not(rw):
    sbm, head = rw.world.sbm_a, rw.world.head_a
    pledge(rw, sbm, 12, approve=False)
    approve_pledges(rw.buying_round.id, sbm.school_id, head, rw.now)
    pledge(rw, sbm, 11, approve=False)
    assert the_pledge(rw, sbm.school_id).approved
    pledge(rw, sbm, 14, approve=False)
    assert not the_pledge(rw, sbm.school_id).approved


def test_a_pledge_not_approved_by_the_deadline_gets_no_call_off(rw):
    pledge(rw, rw.world.sbm_a, 10, approve=False)  # waits for the head, who does not act
    pledge(rw, rw.world.sbm_b, 15)  # approved by school B's head
    late = close(rw)
    with pytest.raises(PledgingClosed, match="can no longer be approved"):
        approve_pledges(rw.buying_round.id, rw.world.school_a.id, rw.world.head_a, late)
    run = run_now(rw)
    award_run(rw.buying_round.id, run.id, rw.world.committee)
    assert call_offs_for_school(rw.buying_round.id, rw.world.school_a.id) == []
    assert len(call_offs_for_school(rw.buying_round.id, rw.world.school_b.id)) == 1


def test_an_approved_pledge_becomes_a_confirmed_call_off_with_the_schools_po_number(rw):
    pledge(rw, rw.world.sbm_a, 10, po_number="  ELP-PO 4471 ")
    pledging_schools(rw, [30])
    close(rw)
    award_run(rw.buying_round.id, run_now(rw).id, rw.world.committee)
    (order,) = call_offs_for_school(rw.buying_round.id, rw.world.school_a.id)
    assert (order.kind, order.status) == (OrderKind.CALL_OFF, OrderStatus.CONFIRMED)
    assert order.po_number == "ELP-PO 4471"
    assert order.approved_by_id == rw.world.head_a.id
    pos = set(db.session.scalars(sa.select(Order.po_number)))
    assert not any(po.startswith("ROUND-") for po in pos)


def test_an_award_is_refused_when_an_allocated_pledge_is_no_longer_approved(rw):
    pledge(rw, rw.world.sbm_a, 10)
    close(rw)
    run = run_now(rw)
    # Pledges cannot change after the deadline; the award still checks, whatever happened
    # to the row since the run (here: its approval taken away directly in the database).
    the_pledge(rw, rw.world.school_a.id).approved_at = None
    db.session.flush()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Order))
    with pytest.raises(RunStateConflict, match="no longer approved: .*Run the aggregator again"):
        award_run(rw.buying_round.id, run.id, rw.world.committee)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == before


def test_a_purchase_order_number_too_long_is_refused_and_changes_nothing(rw):
    with pytest.raises(RoundError, match="60 characters or fewer"):
        pledge(rw, rw.world.sbm_a, 5, po_number="X" * 61)
    assert pledges_for_school(rw.buying_round.id, rw.world.school_a.id) == {}


def test_the_head_approves_on_the_pledge_page_and_the_sbm_sees_it(client, auth, rw):
    pledge(rw, rw.world.sbm_a, 10, approve=False)
    url = f"/rounds/{rw.buying_round.id}/schools/{rw.world.school_a.id}/pledges"
    auth.as_user(rw.world.sbm_a)
    page = client.get(url).get_data(as_text=True)
    assert "Awaiting approval" in page and "Waiting for your head to approve" in page
    auth.logout()
    auth.as_user(head_of(rw.world.school_a.id))
    page = client.get(url).get_data(as_text=True)
    assert "Approve pledges" in page
    response = client.post(url + "/approve")
    assert response.status_code == 302
    assert the_pledge(rw, rw.world.school_a.id).approved
    again = client.post(url + "/approve")
    assert again.status_code == 409
    assert "No pledge of your school is waiting" in again.get_data(as_text=True)


def test_the_sbm_gives_the_po_number_with_the_pledges(client, auth, rw):
    url = f"/rounds/{rw.buying_round.id}/schools/{rw.world.school_a.id}/pledges"
    auth.as_user(rw.world.sbm_a)
    field = lot_field_name(rw.world.service.id, rw.term.key)
    response = client.post(url, data={field: "4", "po_number": "PO-55"})
    assert response.status_code == 302, response.get_data(as_text=True)
    made = the_pledge(rw, rw.world.school_a.id)
    assert (made.quantity, made.po_number, made.approved) == (4, "PO-55", True)
    assert "PO-55" in client.get(url).get_data(as_text=True)


def test_pledges_made_after_the_deadline_cannot_be_approved_later(rw):
    pledge(rw, rw.world.sbm_a, 10, approve=False)
    after = rw.buying_round.pledge_deadline_at + timedelta(seconds=1)
    with pytest.raises(PledgingClosed):
        approve_pledges(rw.buying_round.id, rw.world.school_a.id, rw.world.head_a, after)
    assert not the_pledge(rw, rw.world.school_a.id).approved


def test_the_heads_home_page_lists_pledges_waiting_for_approval(client, auth, rw):
    pledge(rw, rw.world.sbm_a, 10, approve=False)
    auth.as_user(rw.world.head_a)
    home = client.get("/home").get_data(as_text=True)
    assert "Pledges waiting for your approval" in home
    assert f"/rounds/{rw.buying_round.id}/schools/{rw.world.school_a.id}/pledges" in home
    approve_pledges(rw.buying_round.id, rw.world.school_a.id, rw.world.head_a, rw.now)
    assert "Pledges waiting for your approval" not in client.get("/home").get_data(as_text=True)
