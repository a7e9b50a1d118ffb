"""Delivery and acceptance: not delivered before the start; the school confirms or disputes
within its window of London working days; the office resolves disputes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.calendar import add_working_days
from marketplace.orders import acceptance, access, decisions, drafting, rules
from marketplace.orders.errors import InvalidOrder, OrderNotFound, OrderStateConflict
from marketplace.orders.models import OrderStatus
from tests.marketplace.conftest import counts, draft, reserved
from tests.marketplace.html import banners, text


def confirmed(market, quantity: int = 5):
    order = draft(market, quantity=quantity)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    decisions.confirm(order.id, market.provider_a.id, market.provider_user_a)
    return order


def delivered(market, quantity: int = 5):
    order = confirmed(market, quantity)
    decisions.deliver(
        order.id, market.provider_a.id, market.provider_user_a, today=decisions.starts_on(order)
    )
    return order


def test_an_orders_start_is_its_term_start_or_later_by_the_lead_time():
    term_start = date(2027, 1, 4)
    assert rules.order_starts_on(term_start, date(2026, 11, 2), 10) == term_start
    # Submitted on Wed 23 Dec 2026 with 5 working days' lead: 24, 29, 30, 31 Dec, 4 Jan
    # (Christmas, Boxing Day's substitute and New Year's Day are bank holidays).
    assert rules.order_starts_on(date(2026, 12, 28), date(2026, 12, 23), 5) == date(2027, 1, 4)
    assert rules.order_starts_on(term_start, None, 10) == term_start


def test_the_window_counts_london_working_days_past_bank_holidays():
    # Thu 24 Dec 2026 + 5 working days: 29, 30, 31 Dec, 4, 5 Jan.
    assert rules.acceptance_due_on(date(2026, 12, 24), 5) == date(2027, 1, 5)
    assert not rules.deemed_accepted(date(2027, 1, 5), date(2027, 1, 5))
    assert rules.deemed_accepted(date(2027, 1, 5), date(2027, 1, 6))
    assert not rules.deemed_accepted(None, date(2030, 1, 1))


def test_delivery_cannot_be_recorded_before_the_order_starts(market):
    order = confirmed(market)
    start = decisions.starts_on(order)
    before = counts()
    with pytest.raises(OrderStateConflict, match="cannot be recorded before then"):
        decisions.deliver(
            order.id, market.provider_a.id, market.provider_user_a, today=start - timedelta(1)
        )
    assert counts() == before and order.status is OrderStatus.CONFIRMED
    assert order.delivered_at is None

    decisions.deliver(order.id, market.provider_a.id, market.provider_user_a, today=start)
    assert order.status is OrderStatus.DELIVERED
    assert order.acceptance_due_on == add_working_days(start, 5)
    assert (
        access.history(order)[-1].after["acceptance_due_on"] == order.acceptance_due_on.isoformat()
    )


def test_the_window_follows_the_setting(app, market):
    saved = app.config["DELIVERY_DISPUTE_WORKING_DAYS"]
    app.config["DELIVERY_DISPUTE_WORKING_DAYS"] = 2
    try:
        order = delivered(market)
    finally:
        app.config["DELIVERY_DISPUTE_WORKING_DAYS"] = saved
    assert order.acceptance_due_on == add_working_days(decisions.starts_on(order), 2)


def test_the_school_confirms_receipt(market):
    order = delivered(market)
    acceptance.confirm_receipt(order.id, market.school_a.id, market.head_a)
    assert order.accepted_at is not None and order.accepted_by_id == market.head_a.id
    assert access.history(order)[-1].action == "receipt confirmed"
    before = counts()
    with pytest.raises(OrderStateConflict, match="already confirmed"):
        acceptance.confirm_receipt(order.id, market.school_a.id, market.sbm_a)
    with pytest.raises(OrderStateConflict, match="already confirmed"):
        acceptance.dispute(order.id, market.school_a.id, market.sbm_a, "Late")
    assert counts() == before


def test_only_the_school_confirms_or_disputes_and_only_a_delivered_order(market):
    order = delivered(market)
    not_yet = confirmed(market, 3)
    before = counts()
    with pytest.raises(OrderNotFound):
        acceptance.confirm_receipt(order.id, market.school_b.id, market.sbm_b)
    with pytest.raises(OrderStateConflict, match="Only the school"):
        acceptance.dispute(order.id, market.school_a.id, market.provider_user_a, "Fine")
    with pytest.raises(OrderStateConflict, match="not waiting for your confirmation"):
        acceptance.confirm_receipt(not_yet.id, market.school_a.id, market.sbm_a)
    assert counts() == before


def test_a_dispute_needs_a_reason_and_must_come_within_the_window(market):
    order = delivered(market)
    before = counts()
    with pytest.raises(InvalidOrder, match="Say what is wrong"):
        acceptance.dispute(order.id, market.school_a.id, market.sbm_a, "   ")
    late = order.acceptance_due_on + timedelta(days=1)
    with pytest.raises(OrderStateConflict, match="were open until .*it is now accepted"):
        acceptance.dispute(order.id, market.school_a.id, market.sbm_a, "Short", today=late)
    assert counts() == before and order.disputed_at is None

    acceptance.dispute(
        order.id,
        market.school_a.id,
        market.sbm_a,
        "Two sessions missed",
        today=order.acceptance_due_on,
    )
    assert order.dispute_open and order.dispute_reason == "Two sessions missed"
    assert [o.id for o in acceptance.open_disputes()] == [order.id]
    with pytest.raises(OrderStateConflict, match="already disputed"):
        acceptance.dispute(order.id, market.school_a.id, market.sbm_a, "Again")


def test_the_office_resolves_a_dispute_by_accepting_or_cancelling(market):
    kept, dropped = delivered(market, 3), delivered(market, 2)
    for order in (kept, dropped):
        acceptance.dispute(order.id, market.school_a.id, market.sbm_a, "Not as described")
    with pytest.raises(OrderStateConflict, match="Only the partnership office"):
        acceptance.resolve_by_accepting(kept.id, market.committee)
    assert reserved(market.offer_a.id) == 5

    acceptance.resolve_by_accepting(kept.id, market.admin, "Provider sent the register")
    assert kept.accepted_by_id == market.admin.id and not kept.dispute_open
    acceptance.resolve_by_cancelling(dropped.id, market.admin)
    assert dropped.status is OrderStatus.CANCELLED and dropped.cancellation_charge_pence == 0
    assert reserved(market.offer_a.id) == 3
    assert access.history(dropped)[-1].after["outcome"] == "cancelled"
    assert acceptance.open_disputes() == []
    with pytest.raises(OrderStateConflict, match="no open dispute"):
        acceptance.resolve_by_cancelling(kept.id, market.admin)


def test_the_school_confirms_or_disputes_on_the_order_page(client, login, market):
    first, second = delivered(market, 3), delivered(market, 2)
    login(market.provider_user_a)
    assert "Waiting for the school to confirm receipt" in client.get(
        f"/orders/{first.id}"
    ).get_data(as_text=True)
    login(market.sbm_a)
    listing = text(client.get("/orders").get_data(as_text=True))
    assert listing.count("Receipt to confirm by") == 2
    page = client.get(f"/orders/{first.id}").get_data(as_text=True)
    assert "Confirm receipt" in page and "Raise a dispute" in page
    response = client.post(f"/orders/{first.id}/receipt", follow_redirects=True)
    assert "Receipt of order" in " ".join(banners(response.get_data(as_text=True)))
    assert first.accepted_at is not None
    response = client.post(f"/orders/{second.id}/dispute", data={"dispute-reason": ""})
    assert response.status_code == 400 and "Say what is wrong" in response.get_data(as_text=True)
    client.post(f"/orders/{second.id}/dispute", data={"dispute-reason": "Nobody came"})
    assert second.dispute_reason == "Nobody came"
    listing = text(client.get("/orders").get_data(as_text=True))
    assert "Disputed" in listing and "Receipt to confirm by" not in listing
    assert "The school disputed this delivery: Nobody came" in client.get(
        f"/orders/{second.id}"
    ).get_data(as_text=True)


def test_the_office_sees_and_resolves_disputes_from_its_own_page(client, login, market):
    order = delivered(market)
    acceptance.dispute(order.id, market.school_a.id, market.sbm_a, "Only <half> delivered")
    login(market.sbm_a)
    assert client.get("/orders/disputes").status_code == 403
    login(market.admin)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/orders/disputes"' in dashboard and "1 disputed delivery" in text(dashboard)
    page = client.get("/orders/disputes").get_data(as_text=True)
    assert f"Order {order.id}" in page and "Only &lt;half&gt; delivered" in page
    assert client.post(f"/orders/{order.id}/disputes/refund").status_code == 404
    response = client.post(f"/orders/{order.id}/disputes/accept", follow_redirects=True)
    assert "delivery accepted" in " ".join(banners(response.get_data(as_text=True)))
    assert order.accepted_by_id == market.admin.id
    again = client.post(f"/orders/{order.id}/disputes/cancel")
    assert again.status_code == 409 and "no open dispute" in again.get_data(as_text=True)
    assert "No deliveries are disputed" in client.get("/orders/disputes").get_data(as_text=True)
