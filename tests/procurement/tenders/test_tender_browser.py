"""A tender in Chromium, from draft to contract, with two-person opening (demo partnership).

The deadline and the standstill are passed by moving the tender's dates into the past straight
in the live server's database (tests/support/tender_clock.py); the app has no such command.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.calendar import add_working_days
from app.time import london_today
from tests.support.browser import ROOT, sign_in
from tests.support.tender_clock import shift_tender_dates

pytestmark = pytest.mark.browser

TITLE = "School counselling 2027–2029 (browser test)"


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def shift_dates(live_server, tender_id: int, days: int) -> None:
    """TEST ONLY: move the tender's timetable `days` into the past."""
    shift_tender_dates(live_server.database_url, tender_id, days, ROOT / "instance")


def banner(page):
    return page.locator(".govuk-notification-banner").first


def test_no_command_moves_a_tender_in_time(live_server):
    result = live_server.flask("tenders", "testing-shift-dates", "--tender", "1", "--days", "1")
    assert result.returncode != 0
    assert "No such command 'tenders'" in result.stderr


def test_a_tender_from_draft_to_contract_with_two_person_opening(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    deadline = add_working_days(london_today(), 10)

    # The committee drafts the tender, adds a lot and two questions, and publishes it.
    sign_in(page, live_server, "committee@demo.pooled.test")
    page.get_by_role("link", name="Tenders", exact=True).click()
    page.get_by_role("button", name="Start a new tender").click()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("What the partnership is buying").fill("Counselling days in schools.")
    page.get_by_label("Deadline for bids: date").fill(deadline.isoformat())
    page.get_by_label("Deadline for bids: time (UK time)").fill("12:00")
    page.get_by_label("Contract starts").fill(date(deadline.year + 1, 1, 1).isoformat())
    page.get_by_label("Contract ends").fill(date(deadline.year + 2, 12, 31).isoformat())
    page.get_by_label("Minimum number of valid bids per lot").fill("1")
    page.get_by_role("button", name="Save the draft").click()
    expect(banner(page)).to_contain_text("Draft tender saved")
    tender_id = int(re.search(r"/tenders/(\d+)", page.url).group(1))

    page.get_by_role("link", name="Add a lot").click()
    page.get_by_label("Lot title").fill("Counselling days")
    page.get_by_label("Service", exact=True).select_option(label="School counselling (per day)")
    page.get_by_label("Expected volume over the contract").fill("300")
    page.get_by_role("button", name="Save the lot").click()
    for criterion, text in (
        ("Quality", "How will your counsellors be supervised?"),
        ("Social value", "How will you work with local charities?"),
    ):
        page.get_by_role("link", name="Add a question").click()
        page.get_by_label(criterion, exact=True).check()
        page.get_by_label("Question").fill(text)
        page.get_by_role("button", name="Add the question").click()
    page.get_by_role("button", name="Publish the tender").click()
    expect(banner(page)).to_contain_text("Tender published")
    sign_out(page)

    # The provider bids; only it can see the bid.
    sign_in(page, live_server, "provider@demo.pooled.test")
    page.get_by_role("link", name="Tenders", exact=True).click()
    page.get_by_role("link", name=TITLE).click()
    page.get_by_role("link", name="Bid for lot 1").click()
    page.get_by_label("Tier 1 from quantity").fill("0")
    page.get_by_label("Tier 1 price per day in pounds").fill("265.50")
    page.get_by_label("Tier 2 from quantity").fill("200")
    page.get_by_label("Tier 2 price per day in pounds").fill("241.25")
    page.get_by_label("Capacity over the contract").fill("360")
    page.get_by_label(re.compile("^Quality question 1")).fill("Monthly clinical supervision.")
    page.get_by_label(re.compile("^Social value question 2")).fill("Placements with Ealing Mind.")
    page.get_by_role("button", name="Send your bid").click()
    expect(banner(page)).to_contain_text("only you can see it")
    expect(page.locator("main")).to_contain_text("£241.25")
    sign_out(page)

    # Before the deadline the committee sees nothing of it.
    sign_in(page, live_server, "committee@demo.pooled.test")
    page.goto(f"{live_server.url}/tenders/{tender_id}")
    expect(page.locator("main")).to_contain_text("nobody at the partnership can see")
    expect(page.locator("main")).not_to_contain_text("West London Counselling Collective")
    expect(page.locator("main")).not_to_contain_text("241.25")

    # The deadline passes; two different committee members open the bids.
    shift_dates(live_server, tender_id, 15)
    page.reload()
    expect(page.locator("h1")).to_contain_text("Closed – waiting to be opened")
    page.get_by_role("button", name="Confirm opening of the bids").click()
    expect(banner(page)).to_contain_text("A second committee member must confirm too")
    page.get_by_role("button", name="Confirm opening of the bids").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("already confirmed the opening")
    sign_out(page)

    sign_in(page, live_server, "committee2@demo.pooled.test")
    page.goto(f"{live_server.url}/tenders/{tender_id}")
    page.get_by_role("button", name="Confirm opening of the bids").click()
    expect(banner(page)).to_contain_text("Bids opened: both confirmations are recorded")
    expect(page.locator("main")).to_contain_text("Confirmed by Tom Okafor")
    expect(page.locator("main")).to_contain_text("Confirmed by Helen Marsh")
    expect(page.locator("#bids-lot-1")).to_contain_text("West London Counselling Collective")

    # Evaluation: declare, score, moderate, decide the award.
    page.get_by_role("button", name="Start the evaluation").click()
    page.get_by_role("link", name="Declare your interests for lot 1").click()
    page.get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Make the declaration").click()
    page.get_by_role("link", name="Evaluate lot 1").click()
    expect(page.locator("main")).to_contain_text("£72,375.00")  # 300 days at £241.25
    page.get_by_role("link", name="Score West London Counselling Collective").click()
    page.get_by_label("Quality score (0–100)").fill("72")
    page.get_by_label("Social value score (0–100)").fill("65")
    page.get_by_role("button", name="Save my scores").click()
    page.get_by_role("button", name="Moderate the scores").click()
    page.get_by_role("button", name="Save the moderated scores").click()
    expect(page.locator("#ranking")).to_contain_text("West London Counselling Collective")
    page.goto(f"{live_server.url}/tenders/{tender_id}")
    page.get_by_role("button", name="Decide the award").click()
    expect(banner(page)).to_contain_text("The standstill runs until the end of")

    # Too early: the system refuses the contract during the standstill.
    page.get_by_role("button", name="Enter into the contracts").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "no contract can be entered into before it ends"
    )

    # After the standstill, the contract is entered into and is in the register.
    shift_dates(live_server, tender_id, 20)
    page.goto(f"{live_server.url}/tenders/{tender_id}")
    page.get_by_role("button", name="Enter into the contracts").click()
    expect(banner(page)).to_contain_text("Contracts entered into")
    page.get_by_role("link", name="Contracts", exact=True).click()
    expect(page.locator("#contracts")).to_contain_text(f"TEN-{tender_id:04d}-L1-1")
    sign_out(page)

    sign_in(page, live_server, "provider@demo.pooled.test")
    page.get_by_role("link", name="Contracts", exact=True).click()
    expect(page.locator("#contracts")).to_contain_text(f"TEN-{tender_id:04d}-L1-1")
    page.get_by_role("link", name=f"TEN-{tender_id:04d}-L1-1").click()
    expect(page.locator("main")).to_contain_text("£241.25")
