"""A school's approval chain: the head, then above the second step a different second
approver; trusts approving for their schools; the head setting the chain."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.errors import NotFound
from app.extensions import db
from app.models import AuditEvent, Role
from marketplace.orders import access, approvals, decisions, drafting
from marketplace.orders.errors import (
    ApprovalRefused,
    InvalidApprovalChain,
    OrderNotFound,
    OrderStateConflict,
)
from marketplace.orders.models import OrderApproval, OrderStatus
from tests import factories
from tests.marketplace.conftest import draft, reserved
from tests.marketplace.html import error_summary, text
from tests.support.outbox import recipients


@pytest.fixture
def chained(market):
    """School A: no approval up to £2,500, the head up to £5,000, then a second approver."""
    market.school_a.second_approval_pence = 500_000
    db.session.commit()
    return market


def submitted(world, quantity):
    order = draft(world, quantity=quantity)
    drafting.submit(order.id, world.school_a.id, world.sbm_a)
    return order


def given(order_id):
    return list(
        db.session.execute(
            sa.select(OrderApproval.step, OrderApproval.approver_id)
            .where(OrderApproval.order_id == order_id)
            .order_by(OrderApproval.step)
        ).tuples()
    )


def test_an_order_over_the_second_step_is_approved_only_after_two_people_approve(chained):
    order = submitted(chained, 30)  # £6,900
    decisions.approve(order.id, chained.school_a.id, chained.head_a)
    assert order.status is OrderStatus.SUBMITTED  # still waiting: only the head has approved
    assert given(order.id) == [(1, chained.head_a.id)]
    assert reserved(chained.offer_a.id) == 30

    decisions.approve(order.id, chained.school_a.id, chained.governor_a)
    assert order.status is OrderStatus.APPROVED
    assert order.approved_by_id == chained.governor_a.id
    assert given(order.id) == [(1, chained.head_a.id), (2, chained.governor_a.id)]
    actions = db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.entity_type == "order", AuditEvent.entity_id == str(order.id))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["created", "submitted", "approval step given", "approved"]


def test_the_same_person_cannot_give_both_approvals(chained):
    order = submitted(chained, 30)
    decisions.approve(order.id, chained.school_a.id, chained.head_a)
    with pytest.raises(ApprovalRefused, match="different person"):
        decisions.approve(order.id, chained.school_a.id, chained.head_a)
    assert given(order.id) == [(1, chained.head_a.id)]
    assert order.status is OrderStatus.SUBMITTED


def test_another_head_can_give_the_second_approval(chained):
    second_head = factories.make_user(Role.HEAD, school=chained.school_a)
    order = submitted(chained, 30)
    decisions.approve(order.id, chained.school_a.id, chained.head_a)
    decisions.approve(order.id, chained.school_a.id, second_head)
    assert order.status is OrderStatus.APPROVED


def test_the_second_approver_cannot_approve_before_the_head(chained):
    order = submitted(chained, 30)
    with pytest.raises(ApprovalRefused, match="head"):
        decisions.approve(order.id, chained.school_a.id, chained.governor_a)
    assert given(order.id) == []


def test_an_order_between_the_steps_needs_only_the_head(chained):
    order = submitted(chained, 12)  # £3,000
    decisions.approve(order.id, chained.school_a.id, chained.head_a)
    assert order.status is OrderStatus.APPROVED
    assert given(order.id) == [(1, chained.head_a.id)]


def test_without_a_second_step_the_head_alone_approves_any_order(market):
    order = submitted(market, 30)
    decisions.approve(order.id, market.school_a.id, market.head_a)
    assert order.status is OrderStatus.APPROVED


def test_the_trust_approves_for_its_schools_and_cannot_reach_others(chained):
    order = submitted(chained, 30)
    decisions.approve(order.id, chained.school_a.id, chained.trust_user)  # the first step
    decisions.approve(order.id, chained.school_a.id, chained.governor_a)
    assert order.status is OrderStatus.APPROVED

    other = draft(chained, quantity=12, school_id=chained.school_b.id, actor=chained.sbm_b)
    drafting.submit(other.id, chained.school_b.id, chained.sbm_b)
    with pytest.raises(OrderNotFound):
        decisions.approve(other.id, chained.school_b.id, chained.trust_user)
    with pytest.raises(OrderNotFound):
        access.get_order_for_user(other.id, chained.trust_user)
    assert access.get_order_for_user(order.id, chained.trust_user).id == order.id


def test_a_governor_cannot_approve_another_schools_orders(chained):
    other = draft(chained, quantity=12, school_id=chained.school_b.id, actor=chained.sbm_b)
    drafting.submit(other.id, chained.school_b.id, chained.sbm_b)
    with pytest.raises(OrderNotFound):
        decisions.approve(other.id, chained.school_b.id, chained.governor_a)


def test_an_sbm_still_cannot_approve(chained):
    order = submitted(chained, 12)
    with pytest.raises(OrderStateConflict, match="Only the head"):
        decisions.approve(order.id, chained.school_a.id, chained.sbm_a)


def test_the_second_approvers_and_the_trust_are_told_when_the_head_has_approved(chained):
    order = submitted(chained, 30)
    assert recipients("order_awaiting_approval") == {chained.head_a.email}
    decisions.approve(order.id, chained.school_a.id, chained.head_a)
    assert recipients("order_awaiting_approval") == {
        chained.head_a.email,  # the first step's email, earlier
        chained.governor_a.email,
        chained.trust_user.email,
    }


def test_each_approver_sees_on_their_home_only_what_waits_for_them(chained):
    order = submitted(chained, 30)
    assert [o.id for o in approvals.waiting_for(chained.head_a)] == [order.id]
    assert approvals.waiting_for(chained.governor_a) == []
    assert [o.id for o in approvals.waiting_for(chained.trust_user)] == [order.id]
    decisions.approve(order.id, chained.school_a.id, chained.head_a)
    assert approvals.waiting_for(chained.head_a) == []
    assert [o.id for o in approvals.waiting_for(chained.governor_a)] == [order.id]


# Setting the chain ------------------------------------------------------------------------


def test_the_head_sets_the_chain_in_whole_pounds(market):
    approvals.set_chain(
        market.school_a.id, market.head_a, threshold_pounds=1_000, second_pounds=8_000
    )
    assert (market.school_a.approval_threshold_pence, market.school_a.second_approval_pence) == (
        100_000,
        800_000,
    )
    approvals.set_chain(
        market.school_a.id, market.head_a, threshold_pounds=1_000, second_pounds=None
    )
    assert market.school_a.second_approval_pence is None


def test_a_second_step_below_the_first_is_refused_and_nothing_changes(market):
    with pytest.raises(InvalidApprovalChain) as refused:
        approvals.set_chain(
            market.school_a.id, market.head_a, threshold_pounds=3_000, second_pounds=2_000
        )
    assert set(refused.value.problems) == {"second"}
    db.session.refresh(market.school_a)
    assert market.school_a.approval_threshold_pence == 250_000


@pytest.mark.parametrize("who", ["sbm_a", "governor_a", "provider_user_a", "committee"])
def test_only_the_head_the_trust_or_the_admin_sets_a_chain(market, who):
    with pytest.raises(NotFound):  # the school is not theirs to set
        approvals.set_chain(
            market.school_a.id, getattr(market, who), threshold_pounds=1, second_pounds=None
        )


def test_a_head_cannot_set_another_schools_chain_but_the_trust_and_admin_can(market):
    with pytest.raises(NotFound):
        approvals.set_chain(
            market.school_b.id, market.head_a, threshold_pounds=1, second_pounds=None
        )
    approvals.set_chain(market.school_a.id, market.trust_user, threshold_pounds=1, second_pounds=2)
    approvals.set_chain(market.school_b.id, market.admin, threshold_pounds=1, second_pounds=2)


# Pages -------------------------------------------------------------------------------------


def test_the_head_sets_the_chain_on_the_approvals_page(client, login, market):
    login(market.head_a)
    assert client.get("/school/approvals").location.endswith(
        f"/schools/{market.school_a.id}/approvals"
    )
    page = client.get(f"/schools/{market.school_a.id}/approvals").get_data(as_text=True)
    assert 'value="2500"' in page
    response = client.post(
        f"/schools/{market.school_a.id}/approvals", data={"threshold": "1000", "second": "6000"}
    )
    assert response.status_code == 302
    db.session.refresh(market.school_a)
    assert market.school_a.second_approval_pence == 600_000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"threshold": "3000", "second": "2000"}, "must be at least £3,000"),
        ({"threshold": "", "second": ""}, "Enter the amount orders need no approval up to"),
        ({"threshold": "2500.50", "second": ""}, "must be a whole number"),
        ({"threshold": "-5", "second": ""}, "between £0 and"),
    ],
)
def test_a_bad_chain_is_named_on_the_page_and_nothing_is_saved(
    client, login, market, data, message
):
    login(market.head_a)
    response = client.post(f"/schools/{market.school_a.id}/approvals", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<title>Error: " in page
    assert any(message in line for line in error_summary(page))
    db.session.refresh(market.school_a)
    assert (market.school_a.approval_threshold_pence, market.school_a.second_approval_pence) == (
        250_000,
        None,
    )


def test_the_order_page_shows_the_chain_and_who_approved(client, login, chained):
    order = submitted(chained, 30)
    login(chained.head_a)
    page = text(client.get(f"/orders/{order.id}").get_data(as_text=True))
    assert "Budget holder (head): waiting" in page
    assert "You are giving approval 1 of 2" in page
    assert client.post(f"/orders/{order.id}/approve").status_code == 302

    page = text(client.get(f"/orders/{order.id}").get_data(as_text=True))
    assert f"Budget holder (head): approved by {chained.head_a.name}" in page
    assert "Second approver (chair of governors or trust): waiting" in page
    assert "Approve order" not in page  # the head cannot give the second step too

    login(chained.governor_a)
    assert client.post(f"/orders/{order.id}/approve").status_code == 302
    db.session.refresh(order)
    assert order.status is OrderStatus.APPROVED


def test_the_trust_lists_only_its_schools_orders(client, login, chained):
    own = submitted(chained, 12)
    other = draft(chained, quantity=12, school_id=chained.school_b.id, actor=chained.sbm_b)
    drafting.submit(other.id, chained.school_b.id, chained.sbm_b)
    login(chained.trust_user)
    page = client.get("/trust/orders").get_data(as_text=True)
    assert f"/orders/{own.id}" in page and f"/orders/{other.id}" not in page
    assert client.get(f"/orders/{other.id}").status_code == 404
    assert client.post(f"/orders/{other.id}/approve").status_code == 404
    home = client.get("/home").get_data(as_text=True)
    assert f"/orders/{own.id}" in home


def test_the_trust_chooses_to_be_invoiced_once(client, login, market):
    login(market.trust_user)
    assert client.get("/trust").location.endswith(f"/trusts/{market.trust.id}")
    response = client.post(f"/trusts/{market.trust.id}", data={"invoicing": "once"})
    assert response.status_code == 302
    db.session.refresh(market.trust)
    assert market.trust.invoice_once is True
    refused = client.post(f"/trusts/{market.trust.id}", data={"invoicing": "sometimes"})
    assert refused.status_code == 400
    assert "<title>Error: " in refused.get_data(as_text=True)
    db.session.refresh(market.trust)
    assert market.trust.invoice_once is True
