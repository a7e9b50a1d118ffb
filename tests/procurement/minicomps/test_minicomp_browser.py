"""A mini-competition in Chromium, from the school's quote request to the call-off order, on the
demo partnership's educational psychology framework (Ealing Educational Psychology Service
ranked 1, Northfields Psychology Associates ranked 2).

The quote deadline (at least two working days ahead) is passed by moving the mini-competition's
instants into the past straight in the live server's database
(tests/support/minicomp_clock.py); the app has no such command.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.calendar import Term, add_working_days
from app.time import london_today
from tests.support.browser import ROOT, sign_in
from tests.support.minicomp_clock import shift_mini_competition_dates

pytestmark = pytest.mark.browser

TITLE = "Autism assessments for Year 4 (browser test)"
NORTHFIELDS = "Northfields Psychology Associates"
COUNCIL = "Ealing Educational Psychology Service"
# Prices nobody else in the demo quotes, so that finding them on a page means a leak.
NORTHFIELDS_PRICE, COUNCIL_PRICE = "457.35", "431.80"


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def banner(page):
    return page.locator(".govuk-notification-banner").first


def open_quote_request(page) -> None:
    """A framework supplier finds the request under its quote requests."""
    expect = pytest.importorskip("playwright.sync_api").expect
    page.get_by_role("link", name="Quote requests", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mini-competitions")
    page.locator("#mini-competitions tr", has_text=TITLE).get_by_role("link").click()


def fill_quote(page, price: str, note: str) -> None:
    page.get_by_label("Your price per unit").fill(price)
    page.get_by_label("Note to the school (optional)").fill(note)
    page.get_by_label(re.compile(r"^I confirm this quote meets the requirement")).check()
    page.get_by_role("button", name="Send your quote").click()


def test_a_mini_competition_from_quote_request_to_call_off_order(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    main = page.locator("main")
    next_term = Term.containing(Term.containing(london_today()).ends_on + timedelta(days=1))

    # Greenwood's business manager goes from the contract to its framework and asks for quotes.
    sign_in(page, live_server, "sbm@demo.pooled.test")
    page.get_by_role("link", name="Contracts", exact=True).click()
    page.locator("#contracts tr", has_text=COUNCIL).get_by_role("link").first.click()
    page.get_by_role("link", name=re.compile("^See the framework’s suppliers by ranking")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Framework suppliers by ranking")
    page.get_by_role("button", name="Run a mini-competition").click()
    page.get_by_label("Short title").fill(TITLE)
    page.get_by_label("What the school needs").fill(
        "Eight psychologist days for autism assessments of three Year 4 pupils."
    )
    page.get_by_label("Quantity").fill("8")
    page.get_by_label("Term").select_option(label=next_term.label)
    page.get_by_label("Purchase-order number").fill("GW-PO-MC-7")
    page.get_by_label("Weighted score (price and quality)").check()
    page.get_by_label("Price weight (%)").fill("60")
    page.get_by_label("Quality weight (%)").fill("40")
    # Too little notice (a deadline today) is refused; 3 working days ahead is enough.
    page.get_by_label("Deadline for quotes: date").fill(london_today().isoformat())
    page.get_by_role("button", name="Send the quote request").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "The deadline must be at least 2 working days ahead"
    )
    deadline = add_working_days(london_today(), 3)
    page.get_by_label("Deadline for quotes: date").fill(deadline.isoformat())
    page.get_by_label("Deadline for quotes: time (UK time)").fill("12:00")
    page.get_by_role("button", name="Send the quote request").click()
    expect(banner(page)).to_contain_text("sent to 2 suppliers. Quotes stay sealed")
    mini_id = int(re.search(r"/mini-competitions/(\d+)", page.url).group(1))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Open for quotes")
    expect(page.locator("#invited")).to_contain_text(NORTHFIELDS)
    expect(page.locator("#invited")).to_contain_text(COUNCIL)
    expect(page.locator("#quotes")).to_have_count(0)
    expect(main).to_contain_text("Quotes are sealed until they are opened after the deadline")
    sign_out(page)

    # Both framework suppliers quote; the first forgets the declaration of compliance at first.
    for email, price, note in (
        ("psychology@demo.pooled.test", NORTHFIELDS_PRICE, "Two named EPs."),
        ("eps@demo.pooled.test", COUNCIL_PRICE, "Your link EP."),
    ):
        sign_in(page, live_server, email)
        open_quote_request(page)
        expect(main).to_contain_text("You have not quoted.")
        page.get_by_role("button", name="Send your quote").click()
        if price == NORTHFIELDS_PRICE:
            page.get_by_label("Your price per unit").fill(price)
            page.get_by_role("button", name="Send your quote").click()
            expect(page.locator(".govuk-error-summary")).to_contain_text(
                "Confirm that your quote meets the requirement"
            )
        fill_quote(page, price, note)
        expect(banner(page)).to_contain_text("It stays sealed: only you can see it")
        expect(main).to_contain_text(f"£{price}")
        sign_out(page)

    # Sealed: before the deadline the school sees neither a price nor that anyone has quoted.
    sign_in(page, live_server, "sbm@demo.pooled.test")
    page.goto(f"{live_server.url}/mini-competitions/{mini_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Open for quotes")
    for sealed in (NORTHFIELDS_PRICE, COUNCIL_PRICE, "Two named EPs.", "Quoted"):
        expect(main).not_to_contain_text(sealed)
    expect(page.locator("#quotes")).to_have_count(0)
    expect(page.get_by_role("button", name="Open the quotes")).to_have_count(0)
    page.get_by_role("link", name="Audit trail").click()
    expect(page.locator("#trail")).to_contain_text("quote request sent")
    expect(page.locator("#trail")).not_to_contain_text("quote submitted")

    # The deadline passes; the school opens the quotes, scores quality and awards.
    shift_mini_competition_dates(live_server.database_url, mini_id, 14, ROOT / "instance")
    page.goto(f"{live_server.url}/mini-competitions/{mini_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Closed – waiting to be opened")
    page.get_by_role("button", name="Open the quotes").click()
    expect(banner(page)).to_contain_text("The quotes are open.")
    quotes = page.locator("#quotes")
    expect(quotes).to_contain_text(f"£{NORTHFIELDS_PRICE}")
    expect(quotes).to_contain_text(f"£{COUNCIL_PRICE}")
    for supplier, score in ((NORTHFIELDS, "90"), (COUNCIL, "60")):
        page.get_by_label(f"Quality score for {supplier}").fill(score)
        page.get_by_role("button", name=f"Save score for {supplier}").click()
        expect(banner(page)).to_contain_text("Quality score saved.")
    page.get_by_role("button", name="Decide the award and place the call-off order").click()
    expect(banner(page)).to_contain_text("Decided: see the outcome below.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Awarded")
    # 60 × 431.80 ÷ 457.35 + 40 × 90% = 92.65 beats 60 + 40 × 60% = 84.00.
    expect(page.locator("#decision")).to_have_text(
        f"Highest weighted score wins: 92.65 out of 100 at £{NORTHFIELDS_PRICE} a unit "
        "(out of 2 compliant quotes)."
    )
    page.get_by_role("link", name=re.compile(r"^See the call-off order \d+")).click()
    expect(main).to_contain_text(f"£{NORTHFIELDS_PRICE}")
    expect(main).to_contain_text("£3,658.80")  # 8 days at £457.35
    expect(main).to_contain_text("GW-PO-MC-7")
    expect(main).to_contain_text(NORTHFIELDS)
    sign_out(page)

    # The council's service is told its place by the method, and never sees the winner's price.
    sign_in(page, live_server, "eps@demo.pooled.test")
    page.get_by_role("link", name="Notifications").click()
    told = page.locator(".app-notifications li", has_text=f"MC-{mini_id:04d}: not successful")
    expect(told).to_contain_text("by weighted score (price 60%, quality 40%) it was placed 2 of 2.")
    # Not through the notification's own link: opening one marks it read inside a GET, whose
    # SQLite transaction starts as a plain reader and can fail with "database is locked" when
    # the job consumer writes at that moment (app/__init__.py, `_reading_request`).
    open_quote_request(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Awarded")
    own = page.locator(".govuk-summary-list", has_text="Your place")
    expect(own).to_contain_text(f"£{COUNCIL_PRICE}")
    place = own.locator(".govuk-summary-list__row", has_text="Your place")
    expect(place.locator(".govuk-summary-list__value")).to_have_text("2")
    for other in (NORTHFIELDS_PRICE, "Two named EPs.", "92.65", "GW-PO-MC-7"):
        expect(main).not_to_contain_text(other)
