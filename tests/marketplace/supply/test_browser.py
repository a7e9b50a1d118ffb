"""The supply journey in Chromium against the demo partnership served by gunicorn: a school
asks for cover, an agency proposes a vetted worker (its lapsed one is refused), the school
accepts; once the days have passed the agency submits that booking's timesheet, the school
approves it, the billing run bills it once, and the school's invoice shows the agency fee on
the line."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.time import format_date, london_today
from tests.support.browser import ROOT, sign_in
from tests.support.supply_clock import shift_request_dates

pytestmark = pytest.mark.browser


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def test_from_cover_request_to_invoice(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    today = london_today()
    first = today + timedelta(days=7 - today.weekday() + 7)  # a Monday at least a week away

    # The SBM asks for a cover supervisor for two days.
    sign_in(page, live_server, "sbm@demo.pooled.test")
    page.get_by_role("link", name="Supply cover", exact=True).click()
    page.get_by_role("button", name="Ask for cover").click()
    page.get_by_label("Role").select_option("teacher")
    page.get_by_label("First day").fill(first.isoformat())
    page.get_by_label("Last day").fill((first + timedelta(days=1)).isoformat())
    page.get_by_label("Subject or class (optional)").fill("Year 6")
    page.get_by_role("button", name="Send to the agencies").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("gone to the agencies")
    request_id = re.search(
        r"Cover request (\d+)", page.get_by_role("heading", level=1).inner_text()
    ).group(1)
    sign_out(page)

    # The agency sees it; its lapsed worker is refused, a cleared one is proposed.
    sign_in(page, live_server, "agency@demo.pooled.test")
    page.get_by_role("link", name="Supply cover", exact=True).click()
    page.get_by_role("link", name=f"Request {request_id}", exact=True).click()
    expect(page.locator("#agency-workers")).to_contain_text("Cannot be offered")
    page.get_by_label("Worker").select_option(label="Leo Fernandes")
    page.get_by_role("button", name="Propose this worker").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "cannot be offered until their checks are complete"
    )
    page.get_by_label("Worker").select_option(label="Kwame Boateng")
    page.get_by_role("button", name="Propose this worker").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("proposed to the school")
    sign_out(page)

    # The school sees every part of the rate and accepts.
    sign_in(page, live_server, "sbm@demo.pooled.test")
    page.goto(f"{live_server.url}/supply/requests/{request_id}")
    card = page.locator(".govuk-summary-card", has_text="Kwame Boateng")
    expect(card).to_contain_text("agency fee")
    card.get_by_role("button", name="Accept Kwame Boateng").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Booking confirmed")
    booking_id = re.search(r"/supply/bookings/(\d+)$", page.url).group(1)
    sign_out(page)

    # The two days pass (the test moves the booking three weeks back); the agency submits them.
    shift_request_dates(live_server.database_url, int(request_id), 21, ROOT / "instance")
    monday = first - timedelta(days=21)
    sign_in(page, live_server, "agency@demo.pooled.test")
    page.get_by_role("link", name="Supply cover", exact=True).click()
    page.get_by_role("link", name=f"Booking {booking_id}", exact=True).click()
    page.get_by_label("Week starting (Monday)").fill(monday.isoformat())
    page.get_by_label("Monday", exact=True).select_option("day")
    page.get_by_label("Tuesday", exact=True).select_option("half-day")
    page.get_by_role("button", name="Submit timesheet").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Timesheet submitted")
    booking_url = page.url
    sign_out(page)

    # The school approves it.
    sign_in(page, live_server, "sbm@demo.pooled.test")
    page.goto(booking_url)
    page.get_by_role("button", name=re.compile("Approve week of")).click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Timesheet approved")

    # The partnership's billing run bills it once; the invoice shows the agency fee.
    result = live_server.flask("billing", "run")
    assert result.returncode == 0, result.stderr
    again = live_server.flask("billing", "run")
    assert again.returncode == 0, again.stderr
    page.get_by_role("link", name="Invoices", exact=True).click()
    row = page.locator("tr", has_text=f"Supply cover: Kwame Boateng, week of {format_date(monday)}")
    expect(row).to_have_count(1)
    row.get_by_role("link").first.click()
    lines = page.locator("#invoice-lines")
    expect(lines).to_contain_text("agency fee")
    expect(lines).to_contain_text("1 × full day")
    expect(lines).to_contain_text("1 × half day")
