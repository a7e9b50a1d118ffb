"""The marketplace journeys in Chromium against the demo partnership served by gunicorn."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import sign_in

pytestmark = pytest.mark.browser


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def test_an_order_goes_from_the_sbm_through_the_head_to_the_provider_and_back(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect

    # The SBM finds a traded service and orders ten counselling days (over £2,500).
    sign_in(page, live_server, "sbm@demo.pooled.test")
    page.get_by_role("link", name="Services", exact=True).click()
    page.get_by_label("Search").fill("counselling")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#result-count")).to_contain_text("1 service")
    page.get_by_role("link", name="School counselling").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("School counselling")
    page.get_by_role("button", name="Order from West London Counselling Collective").click()
    expect(page.get_by_text("Before you order: notice and cancellation")).to_be_visible()
    page.locator("input[name=term_key]").first.check()
    page.get_by_label("How many?").fill("10")
    page.get_by_label("Purchase-order number").fill("PO-GW-4471")
    page.get_by_role("button", name="Save and check the price").click()
    expect(page.locator(".govuk-summary-list")).to_contain_text("£2,900.00")
    order_heading = page.get_by_role("heading", level=1).inner_text()
    order_id = re.search(r"Order (\d+)", order_heading).group(1)
    page.get_by_role("button", name="Submit order").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "waits for your head to approve it"
    )
    sign_out(page)

    # The head approves it from the home page.
    sign_in(page, live_server, "head@demo.pooled.test")
    page.get_by_role("link", name=f"Order {order_id}", exact=True).click()
    page.get_by_role("button", name="Approve order").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("approved")
    sign_out(page)

    # The provider confirms it; delivery cannot be recorded before the order starts.
    sign_in(page, live_server, "provider@demo.pooled.test")
    page.get_by_role("link", name="Orders", exact=True).click()
    page.get_by_role("link", name=f"Order {order_id}", exact=True).click()
    page.get_by_role("button", name="Confirm order").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("confirmed")
    expect(page.get_by_text("You can record delivery from")).to_be_visible()
    page.get_by_role("button", name="Mark as delivered").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "its delivery cannot be recorded before then"
    )
    sign_out(page)

    # The SBM sees it confirmed, with its history.
    sign_in(page, live_server, "sbm@demo.pooled.test")
    page.get_by_role("link", name="Orders", exact=True).click()
    row = page.locator("#orders-table tr", has_text=f"Order {order_id}")
    expect(row).to_contain_text("Confirmed")
    expect(row).to_contain_text("PO PO-GW-4471")
    row.get_by_role("link", name=f"Order {order_id}").click()
    history = page.locator("#history")
    for step in (
        "Draft → Awaiting approval",
        "Awaiting approval → Approved",
        "Approved → Confirmed",
    ):
        expect(history).to_contain_text(step)
    expect(history).not_to_contain_text("Delivered")
