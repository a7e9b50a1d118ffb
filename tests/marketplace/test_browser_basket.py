"""The basket in Chromium against the demo partnership: two providers' offers, one checkout."""

from __future__ import annotations

import re

import pytest

from tests.app.test_browser_accessibility import axe_source, describe, scan
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

PO_NUMBER = "PO-GW-BASKET-9"


def add_to_basket(page, provider: str, quantity: str) -> None:
    """From the counselling service page, put one provider's offer in the basket."""
    expect = pytest.importorskip("playwright.sync_api").expect
    page.get_by_role("link", name="Services", exact=True).click()
    page.get_by_label("Search").fill("counselling")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="School counselling").click()
    page.get_by_role("button", name=f"Order from {provider}").click()
    page.locator("input[name=term_key]").last.check()  # next term: the lead time always fits
    page.get_by_label("How many?").fill(quantity)
    page.get_by_role("button", name="Add to basket").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        f"from {provider} is in your basket"
    )


def test_two_providers_offers_are_checked_out_with_one_po_number(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    source = axe_source()
    problems: list[str] = []

    sign_in(page, live_server, "sbm@demo.pooled.test")
    # The demo left two educational psychology days in Greenwood's basket: take them out.
    page.get_by_role("link", name=re.compile(r"^Basket \(1")).click()
    page.get_by_role("button", name=re.compile(r"^Remove .*psycholog", re.I)).click()
    expect(page.get_by_text("Your basket is empty")).to_be_visible()

    add_to_basket(page, "West London Counselling Collective", "3")
    add_to_basket(page, "Brightwords Speech and Language Ltd", "2")
    expect(page.get_by_role("link", name=re.compile(r"^Basket \(2"))).to_be_visible()
    headings = page.locator("h2.govuk-heading-m")
    expect(headings.nth(0)).to_have_text("Brightwords Speech and Language Ltd")
    expect(headings.nth(1)).to_have_text("West London Counselling Collective")
    problems += [describe("sbm", "/basket", 1280, v) for v in scan(page, source)]

    # Four counselling days rather than three.
    card = page.locator(".govuk-summary-card", has_text="West London Counselling Collective")
    card.get_by_label("Quantity").fill("4")
    card.get_by_role("button", name="Change quantity").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Quantity changed")
    card = page.locator(".govuk-summary-card", has_text="West London Counselling Collective")
    expect(card.get_by_label("Quantity")).to_have_value("4")
    page.set_viewport_size({"width": 375, "height": 900})
    problems += [describe("sbm", "/basket", 375, v) for v in scan(page, source)]
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"the basket is {width}px wide at 375px"
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Continue to checkout").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your basket and order")
    problems += [describe("sbm", "/basket/checkout", 1280, v) for v in scan(page, source)]
    # Without a purchase-order number nothing is placed.
    page.get_by_role("button", name="Place 2 orders").click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your purchase-order number")
    page.get_by_label("Your purchase-order number").fill(PO_NUMBER)
    page.get_by_role("button", name="Place 2 orders").click()

    expect(page.locator(".govuk-panel")).to_contain_text(PO_NUMBER)
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        f"2 orders placed with purchase-order number {PO_NUMBER}"
    )
    problems += [describe("sbm", "/basket/checkouts/N", 1280, v) for v in scan(page, source)]
    expect(page.get_by_role("link", name=re.compile(r"^Basket \(0"))).to_be_visible()

    page.get_by_role("link", name="Orders", exact=True).click()
    rows = page.locator("#orders-table tbody tr", has_text=f"PO {PO_NUMBER}")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="West London Counselling Collective")).to_contain_text("4 days")
    expect(rows.filter(has_text="Brightwords Speech and Language Ltd")).to_contain_text("2 ")
    assert not problems, "\n".join(problems)
