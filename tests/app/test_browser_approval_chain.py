"""In Chromium against the demo partnership: Greenwood's approval chain has a second step
(£5,000), so an order above it needs the head and then the chair of governors."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import sign_in

pytestmark = pytest.mark.browser


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def test_an_order_over_the_second_step_needs_the_head_then_the_second_approver(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect

    # The SBM orders 25 counselling days: over Greenwood's second step of £5,000.
    sign_in(page, live_server, "sbm@demo.pooled.test")
    page.get_by_role("link", name="Services", exact=True).click()
    page.get_by_label("Search").fill("counselling")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="School counselling").click()
    page.get_by_role("button", name="Order from West London Counselling Collective").click()
    page.locator("input[name=term_key]").first.check()
    page.get_by_label("How many?").fill("25")
    page.get_by_label("Purchase-order number").fill("PO-GW-CHAIN")
    page.get_by_role("button", name="Save and check the price").click()
    order_heading = page.get_by_role("heading", level=1).inner_text()
    order_id = re.search(r"Order (\d+)", order_heading).group(1)
    page.get_by_role("button", name="Submit order").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("waits for your head")
    approvals = page.locator("ol[aria-labelledby=approval-chain]")
    expect(approvals).to_contain_text("Budget holder (head): waiting")
    expect(approvals).to_contain_text("Second approver (chair of governors or trust)")
    sign_out(page)

    # The head gives the first approval from the home page; the order still waits.
    sign_in(page, live_server, "head@demo.pooled.test")
    page.get_by_role("link", name=f"Order {order_id}", exact=True).click()
    expect(page.get_by_text("You are giving approval 1 of 2")).to_be_visible()
    page.get_by_role("button", name="Approve order").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "now waits for a second approver"
    )
    expect(page.get_by_role("button", name="Approve order")).to_have_count(0)
    expect(approvals).to_contain_text("approved by James Whitfield")
    sign_out(page)

    # The chair of governors gives the second; the order is approved.
    sign_in(page, live_server, "governor@demo.pooled.test")
    page.get_by_role("link", name=f"Order {order_id}", exact=True).click()
    expect(page.get_by_text("You are giving approval 2 of 2")).to_be_visible()
    page.get_by_role("button", name="Approve order").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "approved and sent to the provider"
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Approved")
    expect(approvals).to_contain_text("approved by Margaret Osei")
