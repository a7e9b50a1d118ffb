"""Ordering and pledging warn of each other, in Chromium against the demo partnership: an order
dearer than the open round's pooled price, and a pledge on top of an order."""

from __future__ import annotations

import re
import time

import pytest

from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

ROUND = "Counselling days for next term"
WEST = "West London Counselling Collective"


def wait_for_round_price(page, seconds: float = 240) -> None:
    """Reload until the round's pooled price is worked out (a job beside the server). The
    consumer works through the demo's queued jobs first (emails, PDFs), which under a loaded
    machine took more than 90 s; a run that is not loaded needs a few seconds."""
    deadline = time.monotonic() + seconds
    while "no indicative price yet" in page.locator("#service-covers").inner_text():
        assert time.monotonic() < deadline, "the round's indicative price was not worked out"
        time.sleep(1)
        page.reload()


def test_an_sbm_is_warned_before_ordering_dearer_and_before_pledging_on_top(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    sign_in(page, live_server, "sbm@demo.pooled.test")
    page.goto(live_server.url + "/services?q=counselling")
    page.get_by_role("link", name="School counselling").click()
    covers = page.locator("#service-covers")
    expect(covers).to_contain_text(f"Open buying round {ROUND}")
    wait_for_round_price(page)
    expect(covers).to_contain_text(re.compile(r"pooled price now about £\d+\.\d\d per day"))

    # The order page warns before anything is saved, naming the round's price and term.
    page.get_by_role("button", name=f"Order from {WEST}").click()
    warning = page.locator(".app-cheaper-round").first
    expect(warning).to_contain_text("An open buying round is pricing this at £")
    found = re.search(r"for (.+?); pledge instead\?", warning.inner_text())
    assert found, warning.inner_text()
    term = found.group(1)
    page.get_by_label(re.compile("^" + re.escape(term))).check()
    page.get_by_label("How many?").fill("5")
    page.get_by_label("Purchase-order number").fill("PO-OVERLAP-1")
    page.get_by_role("button", name="Save and check the price").click()
    order_id = re.search(r"Order (\d+)", page.get_by_role("heading", level=1).inner_text())[1]

    # The draft warns again beside "Submit order", and points to the round's pledge page.
    draft_warning = page.locator(".app-cheaper-round")
    expect(draft_warning).to_contain_text(f"for {term}; pledge instead?")
    expect(page.get_by_role("button", name="Submit order")).to_be_visible()
    draft_warning.get_by_role("link", name="pledge instead?").click()

    # The pledge form warns of the order it would come on top of, and still takes the pledge.
    expect(page.get_by_role("heading", level=1)).to_contain_text(ROUND)
    expect(
        page.get_by_text(f"Your school already has order {order_id} from {WEST}")
    ).to_be_visible()
    expect(page.get_by_text("A pledge here comes on top of that order")).to_be_visible()
    page.get_by_label(re.compile("^" + re.escape(f"School counselling, {term}"))).fill("6")
    page.get_by_role("button", name="Save pledges").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Your pledges are saved")
