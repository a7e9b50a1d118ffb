"""Comparing offers in Chromium: chosen with checkboxes (no JavaScript needed), side by side,
scrolling inside its own box at 375 px, accessible, and named errors for a bad choice."""

from __future__ import annotations

import re

import pytest

from tests.app.test_browser_accessibility import axe_source, describe, scan
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

WEST = "West London Counselling Collective: Counselling days"
BRIGHT = "Brightwords Speech and Language Ltd: Play therapy and counselling"


def open_counselling(page, live_server) -> None:
    sign_in(page, live_server, "sbm@demo.pooled.test")
    page.goto(live_server.url + "/services?q=counselling")
    page.get_by_role("link", name="School counselling").click()


def test_an_sbm_compares_two_offers_side_by_side_on_a_phone(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    source = axe_source()
    page.set_viewport_size({"width": 375, "height": 900})
    open_counselling(page, live_server)
    page.get_by_label(WEST).check()
    page.get_by_label(BRIGHT).check()
    page.get_by_role("button", name="Compare offers").click()
    page.wait_for_url(re.compile(r"/compare\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare 2 offers")
    table = page.locator("#compare-table")
    # Priced at what the demo school last ordered (under 20 days), with the lowest bands.
    expect(page.locator("#compare-basis")).to_contain_text("what your school last ordered")
    expect(table).to_contain_text(
        re.compile(r"£290\.00 per day for \d+ days?; from £215\.00 per day at 150 days or more")
    )
    expect(table).to_contain_text(
        re.compile(r"£310\.00 per day for \d+ days?; from £235\.00 per day at 120 days or more")
    )
    expect(table).to_contain_text("Capacity left")
    # The page itself never scrolls sideways; the table scrolls inside its own box.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    box = page.locator(".app-compare")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
    problems = [describe("sbm", "compare", 375, v) for v in scan(page, source)]
    page.set_viewport_size({"width": 1280, "height": 900})
    problems += [describe("sbm", "compare", 1280, v) for v in scan(page, source)]
    assert problems == []

    # Priced again for 150 days: the West London offer reaches its lowest price.
    page.get_by_label("Quantity").fill("150")
    page.get_by_role("button", name="Update prices").click()
    expect(table).to_contain_text("£215.00 per day for 150 days")
    expect(page.locator("#compare-basis")).to_contain_text("the quantity you entered")


def test_comparing_one_offer_is_refused_with_a_named_error(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    source = axe_source()
    open_counselling(page, live_server)
    page.get_by_label(WEST).check()
    page.get_by_role("button", name="Compare offers").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Select at least 2 offers to compare"
    )
    assert page.title().startswith("Error: ")
    expect(page.locator("#offer-error")).to_contain_text("Select at least 2 offers")
    assert [describe("sbm", "compare error", 1280, v) for v in scan(page, source)] == []
