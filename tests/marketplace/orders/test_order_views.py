"""Ordering through the pages: forms, messages, who may do what, and nothing written on error."""

from __future__ import annotations

import pytest

from app.extensions import db
from marketplace.orders import access, decisions, drafting
from marketplace.orders.models import OrderStatus
from tests.marketplace.billing.conftest import make_contract, make_order
from tests.marketplace.conftest import counts, draft, reserved, term_key
from tests.marketplace.html import banners, error_summary, row_cells, summary_value, text


def order_data(**changes: str) -> dict[str, str]:
    return {"term_key": term_key(), "quantity": "5", "po_number": "PO-77", **changes}


def test_an_sbm_orders_an_offer_checks_the_draft_and_submits_it(client, login, market):
    market.offer_a.notice_days = 30
    market.offer_a.cancellation_charge_bp = 1_000
    market.offer_a.notice_rules = "Cancel a term ahead."
    db.session.commit()
    login(market.sbm_a)
    form = client.get(f"/offers/{market.offer_a.id}/order").get_data(as_text=True)
    assert "Before you order: notice and cancellation" in form
    assert "30 days’ notice runs from the day you cancel" in text(form)
    assert "Cancel a term ahead." in form
    assert "100 of 100 left" in text(form)

    response = client.post(f"/offers/{market.offer_a.id}/order", data=order_data(quantity="12"))
    assert response.status_code == 302
    detail = client.get(response.location).get_data(as_text=True)
    assert summary_value(detail, "Total") == "£3,000.00 (no VAT)"
    assert "over your school’s approval threshold of £2,500" in text(detail)
    assert "Cancel a term ahead." in detail
    order_id = int(response.location.rsplit("/", 1)[1])

    response = client.post(f"/orders/{order_id}/submit", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "now waits for your head to approve it" in " ".join(banners(page))
    # The action is "Submitted"; the status it led to reads as everywhere else.
    assert row_cells(page, "Draft → Awaiting approval")[2:4] == [
        "Submitted",
        "Draft → Awaiting approval",
    ]
    assert reserved(market.offer_a.id) == 12


def test_a_draft_within_the_threshold_does_not_warn_of_the_heads_approval(client, login, market):
    order = draft(market, quantity=10)  # £2,500: at the threshold, not over it
    login(market.sbm_a)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Check and submit" in page
    assert "approval threshold" not in text(page)


def test_the_heads_home_lists_the_submitted_orders_over_the_threshold(client, login, market):
    waiting = draft(market, quantity=12)  # £3,000
    drafting.submit(waiting.id, market.school_a.id, market.sbm_a)
    within = draft(market, quantity=4)  # £1,000: approved on submit
    drafting.submit(within.id, market.school_a.id, market.sbm_a)
    login(market.head_a)
    page = client.get("/home").get_data(as_text=True)
    assert f"Order {waiting.id}" in text(page)
    assert f"Order {within.id}" not in text(page)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "at least 1"),
        ("-3", "at least 1"),
        ("2.5", "must be a whole number"),
        ("ten", "must be a whole number"),
        ("", "Enter how many you need"),
        ("99999999999999999999", "too large"),  # refused by the field: no column holds it
        ("101", "Capacity ran out"),
    ],
)
def test_a_bad_quantity_in_the_form_is_explained_and_nothing_is_saved(
    client, login, market, quantity, message
):
    login(market.sbm_a)
    before = counts()
    response = client.post(f"/offers/{market.offer_a.id}/order", data=order_data(quantity=quantity))
    assert response.status_code in (400, 409)
    summary = error_summary(response.get_data(as_text=True))
    assert any(message in item for item in summary), summary
    assert counts() == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"term_key": ""}, "Choose the term"),
        ({"term_key": "1990-autumn"}, "no capacity for Autumn 1990/91"),
        ({"po_number": ""}, "Enter your purchase-order number"),
        ({"po_number": "X" * 61}, "60 characters or fewer"),
    ],
)
def test_a_bad_term_or_purchase_order_number_is_explained(client, login, market, changes, message):
    login(market.sbm_a)
    before = counts()
    response = client.post(f"/offers/{market.offer_a.id}/order", data=order_data(**changes))
    assert response.status_code == 400
    summary = error_summary(response.get_data(as_text=True))
    assert any(message in item for item in summary), summary
    assert counts() == before


def test_an_order_is_always_for_the_signed_in_sbms_own_school(client, login, market):
    login(market.sbm_a)
    response = client.post(
        f"/offers/{market.offer_a.id}/order",
        data=order_data(school_id=str(market.school_b.id)),
    )
    order = access.get_order_for_school(
        int(response.location.rsplit("/", 1)[1]), market.school_a.id
    )
    assert order.school_id == market.school_a.id


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/orders/{id}"),
        ("get", "/orders/{id}/edit"),
        ("post", "/orders/{id}/edit"),
        ("post", "/orders/{id}/submit"),
        ("get", "/orders/{id}/cancel"),
        ("post", "/orders/{id}/cancel"),
    ],
)
def test_another_schools_order_is_404_and_untouched(client, login, market, method, path):
    order = draft(market, quantity=5)
    login(market.sbm_b)
    before = counts()
    response = getattr(client, method)(path.format(id=order.id), data=order_data())
    assert response.status_code == 404
    assert counts() == before
    assert order.status is OrderStatus.DRAFT


def test_a_double_submit_does_nothing_the_second_time_and_says_so(client, login, market):
    order = draft(market, quantity=5)
    login(market.sbm_a)
    assert client.post(f"/orders/{order.id}/submit").status_code == 302
    before = counts()
    response = client.post(f"/orders/{order.id}/submit")
    assert response.status_code == 409
    assert "already been submitted; nothing was changed" in " ".join(
        error_summary(response.get_data(as_text=True))
    )
    assert counts() == before
    assert reserved(market.offer_a.id) == 5


def test_a_submitted_order_cannot_be_edited_through_the_page(client, login, market):
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    login(market.sbm_a)
    before = counts()
    for method in ("get", "post"):
        response = getattr(client, method)(
            f"/orders/{order.id}/edit", data=order_data(quantity="50"), follow_redirects=True
        )
        assert "can no longer be changed" in " ".join(banners(response.get_data(as_text=True)))
    assert counts() == before
    assert order.quantity == 5


def test_a_draft_can_be_changed_through_the_page(client, login, market):
    order = draft(market, quantity=5)
    login(market.sbm_a)
    page = client.get(f"/orders/{order.id}/edit").get_data(as_text=True)
    assert 'value="PO-1001"' in page
    response = client.post(f"/orders/{order.id}/edit", data=order_data(quantity="20"))
    assert response.status_code == 302
    assert (order.quantity, order.total_pence) == (20, 460_000)


def test_the_head_approves_and_the_sbm_cannot(client, login, market):
    order = draft(market, quantity=12)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    login(market.sbm_a)
    assert client.post(f"/orders/{order.id}/approve").status_code == 403
    login(market.head_a)
    home = client.get("/home").get_data(as_text=True)
    assert f'href="/orders/{order.id}"' in home
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Approve order" in page
    response = client.post(f"/orders/{order.id}/approve", follow_redirects=True)
    assert "approved and sent to the provider" in " ".join(banners(response.get_data(as_text=True)))
    assert order.status is OrderStatus.APPROVED


def test_the_head_must_say_why_when_rejecting(client, login, market):
    order = draft(market, quantity=12)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    login(market.head_a)
    before = counts()
    response = client.post(f"/orders/{order.id}/reject", data={"reject-reason": ""})
    assert response.status_code == 400
    assert "Give a reason" in " ".join(error_summary(response.get_data(as_text=True)))
    assert counts() == before
    client.post(f"/orders/{order.id}/reject", data={"reject-reason": "Over budget this term"})
    assert order.status is OrderStatus.REJECTED
    assert reserved(market.offer_a.id) == 0


def test_the_sbm_sees_the_rejection_and_its_reason_on_the_order_and_in_the_list(
    client, login, market
):
    order = draft(market, quantity=12)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    decisions.reject(order.id, market.school_a.id, market.head_a, "Over <budget> this term")
    login(market.sbm_a)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Rejected" in page and "Cancelled" not in text(page)
    assert "Your approver rejected this order: Over &lt;budget&gt; this term" in page
    listing = client.get("/orders").get_data(as_text=True)
    assert "Rejected" in text(listing) and "Over &lt;budget&gt; this term" in listing
    assert "Rejected" in text(client.get("/orders?status=rejected").get_data(as_text=True))


def test_the_provider_confirms_declines_and_delivers_from_the_order_page(client, login, market):
    first, second = draft(market, quantity=5), draft(market, quantity=3)
    for order in (first, second):
        drafting.submit(order.id, market.school_a.id, market.sbm_a)
    login(market.provider_user_a)
    listing = client.get("/provider/orders").get_data(as_text=True)
    assert "2 approved orders" in text(listing)
    assert client.post(f"/orders/{first.id}/confirm").status_code == 302
    # Before the order starts, delivery cannot be recorded.
    early = client.post(f"/orders/{first.id}/deliver")
    assert early.status_code == 409
    assert "its delivery cannot be recorded before then" in early.get_data(as_text=True)
    assert first.status is OrderStatus.CONFIRMED
    decisions.deliver(
        first.id, market.provider_a.id, market.provider_user_a, today=decisions.starts_on(first)
    )
    response = client.post(f"/orders/{second.id}/decline", data={"decline-reason": ""})
    assert response.status_code == 400
    client.post(f"/orders/{second.id}/decline", data={"decline-reason": "No counsellor free"})
    assert (first.status, second.status) == (OrderStatus.DELIVERED, OrderStatus.DECLINED)
    assert reserved(market.offer_a.id) == 5

    login(market.sbm_a)
    page = client.get(f"/orders/{first.id}").get_data(as_text=True)
    history = [row_cells(page, action)[2:4] for action in ("Confirmed", "Delivered")]
    assert history == [
        ["Confirmed", "Approved → Confirmed"],
        ["Delivered", "Confirmed → Delivered"],
    ]
    declined = client.get(f"/orders/{second.id}").get_data(as_text=True)
    assert "Reason: No counsellor free" in text(declined)


@pytest.mark.parametrize("action", ["confirm", "deliver", "decline"])
def test_a_provider_cannot_act_on_another_providers_order(client, login, market, action):
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    login(market.provider_user_b)
    before = counts()
    assert client.get(f"/orders/{order.id}").status_code == 404
    response = client.post(f"/orders/{order.id}/{action}", data={"decline-reason": "no"})
    assert response.status_code == 404
    assert counts() == before
    assert order.status is OrderStatus.APPROVED


def test_the_cancel_page_shows_the_charge_before_cancelling(client, login, market):
    market.offer_a.notice_days = 0
    market.offer_a.cancellation_charge_bp = 1_000
    db.session.commit()
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    decisions.confirm(order.id, market.provider_a.id, market.provider_user_a)
    login(market.sbm_a)
    page = client.get(f"/orders/{order.id}/cancel").get_data(as_text=True)
    assert summary_value(page, "Admin charge") == "£125.00"
    response = client.post(f"/orders/{order.id}/cancel", data={"reason": "Staff changes"})
    assert response.status_code == 302
    assert order.status is OrderStatus.CANCELLED
    assert order.cancellation_charge_pence >= 12_500


def test_actions_need_the_csrf_token(client, login, market, request):
    order = draft(market, quantity=5)
    login(market.sbm_a)
    request.getfixturevalue("csrf_enabled")  # from here on, as in production
    before = counts()
    response = client.post(f"/orders/{order.id}/submit")
    assert response.status_code == 400
    assert counts() == before
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'name="csrf_token"' in page


# Who may reach which page ---------------------------------------------------------------------

PAGES = [
    "/services",
    "/services/{service}",
    "/services/{service}/compare?offer={offer}&offer={offer_b}",
    "/orders",
    "/offers/{offer}/order",
    "/entitlements",
    "/provider/offers",
    "/provider/offers/new",
    "/provider/orders",
]
ALLOWED = {
    "sbm_a": {
        "/services",
        "/services/{service}",
        "/services/{service}/compare?offer={offer}&offer={offer_b}",
        "/orders",
        "/offers/{offer}/order",
        "/entitlements",
    },
    "head_a": {
        "/services",
        "/services/{service}",
        "/services/{service}/compare?offer={offer}&offer={offer_b}",
        "/orders",
        "/entitlements",
    },
    "admin": {
        "/services",
        "/services/{service}",
        "/services/{service}/compare?offer={offer}&offer={offer_b}",
    },
    "committee": {
        "/services",
        "/services/{service}",
        "/services/{service}/compare?offer={offer}&offer={offer_b}",
    },
    "provider_user_a": {"/provider/offers", "/provider/offers/new", "/provider/orders"},
}


@pytest.mark.parametrize("who", sorted(ALLOWED))
def test_each_role_reaches_only_its_own_pages(client, login, market, who):
    login(getattr(market, who))
    for path in PAGES:
        url = path.format(
            service=market.service.id, offer=market.offer_a.id, offer_b=market.offer_b.id
        )
        expected = 200 if path in ALLOWED[who] else 403
        assert client.get(url).status_code == expected, (who, url)


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(client, market, path):
    response = client.get(
        path.format(service=market.service.id, offer=market.offer_a.id, offer_b=market.offer_b.id)
    )
    assert response.status_code == 302
    assert "/sign-in" in response.location


def test_a_shared_pooled_charge_shows_its_unit_price_as_an_average(client, login, market):
    order = draft(market, quantity=10)  # 10 × £250 at the offer's tier
    login(market.sbm_a)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert summary_value(page, "Price per day") == "£250.00"

    order.total_pence += 2  # a pooled charge shared to the penny is rarely units × a round price
    db.session.commit()
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert summary_value(page, "Price per day") == (
        "£250.00 on average: your share of the pooled cost"
    )
    assert summary_value(page, "Total") == "£2,500.02 (no VAT)"


def test_the_order_page_asks_the_school_for_a_missing_po_number(client, login, market):
    call_off = make_order(
        market.school_a,
        market.offer_a,
        2,
        contract=make_contract(market.offer_a),
        status=OrderStatus.CONFIRMED,
        po_number="",
    )
    login(market.provider_user_a)
    page = client.get(f"/orders/{call_off.id}").get_data(as_text=True)
    assert "Waiting for the school’s purchase-order number" in page
    login(market.sbm_a)
    page = client.get(f"/orders/{call_off.id}").get_data(as_text=True)
    assert "It is not billed until you give it" in page
    response = client.post(f"/orders/{call_off.id}/po-number", data={"po-po_number": ""})
    assert response.status_code == 400
    assert "Enter your purchase-order number" in response.get_data(as_text=True)
    response = client.post(
        f"/orders/{call_off.id}/po-number", data={"po-po_number": "PO-31"}, follow_redirects=True
    )
    assert "It can now be billed" in " ".join(banners(response.get_data(as_text=True)))
    assert call_off.po_number == "PO-31"
    assert "It is not billed until you give it" not in response.get_data(as_text=True)
