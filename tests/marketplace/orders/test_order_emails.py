"""Who is emailed about an order: budget holders when it waits for them, and whoever placed
it when it is approved, rejected, confirmed, declined or delivered."""

from __future__ import annotations

import pytest

from app.models import Role
from app.notifications.models import OutboxStatus
from marketplace.orders import decisions, drafting
from marketplace.orders.errors import InvalidOrder
from tests import factories
from tests.marketplace.conftest import draft
from tests.support.outbox import emails, notifications, recipients
from tests.support.smtp import link_in, text_of


def submitted_over_threshold(market):
    order = draft(market, quantity=12)  # £3,000, threshold £2,500
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    return order


def test_an_order_over_the_threshold_emails_the_schools_budget_holders(market, mailbox):
    second_head = factories.make_user(Role.HEAD, school=market.school_a)
    factories.make_user(Role.HEAD, school=market.school_b)  # another school's head: not told
    order = submitted_over_threshold(market)
    assert recipients("order_awaiting_approval") == {market.head_a.email, second_head.email}
    [message] = mailbox.wait_for(market.head_a.email)
    assert message["Subject"] == f"Order {order.id} is waiting for your approval"
    body = text_of(message)
    assert "£3,000.00" in body and "Alpha Primary School" in body
    assert link_in(message, f"/orders/{order.id}")
    assert all(row.status is OutboxStatus.SENT for row in emails("order_awaiting_approval"))


def test_an_order_within_the_threshold_emails_nobody(market):
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    assert emails() == []


def test_approval_confirmation_and_delivery_each_email_the_person_who_placed_it(market):
    order = submitted_over_threshold(market)
    decisions.approve(order.id, market.school_a.id, market.head_a)
    decisions.confirm(order.id, market.provider_a.id, market.provider_user_a)
    started = decisions.starts_on(order)  # delivery is recorded once the work has started
    decisions.deliver(order.id, market.provider_a.id, market.provider_user_a, today=started)
    subjects = [row.subject for row in emails("order_decided", to=market.sbm_a)]
    assert subjects == [
        f"Order {order.id} has been approved",
        f"Order {order.id} has been confirmed",
        f"Order {order.id} has been delivered",
    ]
    assert recipients("order_decided") == {market.sbm_a.email}


def test_a_rejection_tells_the_sbm_the_reason(market):
    order = submitted_over_threshold(market)
    decisions.reject(order.id, market.school_a.id, market.head_a, "Over budget this term")
    [row] = emails("order_decided", to=market.sbm_a)
    assert row.subject == f"Order {order.id} has been rejected"
    assert "Reason given: Over budget this term" in row.text_body
    assert "Over budget this term" in row.html_body


def test_a_decline_tells_the_sbm_the_providers_reason(market):
    order = submitted_over_threshold(market)
    decisions.approve(order.id, market.school_a.id, market.head_a)
    decisions.decline(order.id, market.provider_a.id, market.provider_user_a, "Fully booked")
    rows = emails("order_decided", to=market.sbm_a)
    assert rows[-1].subject == f"Order {order.id} has been declined"
    assert "Fully booked" in rows[-1].text_body


def test_the_events_show_in_the_notification_list(market):
    order = submitted_over_threshold(market)
    decisions.approve(order.id, market.school_a.id, market.head_a)
    [head_note] = notifications(market.head_a)
    assert head_note.link == f"/orders/{order.id}" and head_note.read_at is None
    assert [n.title for n in notifications(market.sbm_a)] == [f"Order {order.id} has been approved"]


def test_a_refused_decision_emails_nobody(market):
    order = submitted_over_threshold(market)
    before = len(emails())
    with pytest.raises(InvalidOrder):
        decisions.reject(order.id, market.school_a.id, market.head_a, "")
    assert len(emails()) == before
