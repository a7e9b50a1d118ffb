"""A buying round in Chromium against the demo partnership served by gunicorn."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

ROUND = "Counselling days for next term"


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def wait_for_current_estimate(page, seconds: float = 90) -> None:
    """Reload until the indicative price is worked out from the latest pledges (a job)."""
    deadline = time.monotonic() + seconds
    while page.locator("#estimate-updating, #estimate-pending").count():
        assert time.monotonic() < deadline, "the indicative price was not worked out again"
        time.sleep(1)
        page.reload()


def pledge_from_home(page, days: str) -> None:
    """From the school home page's announcement, pledge `days` for the round's one term."""
    page.get_by_role("link", name=ROUND).first.click()
    page.get_by_label(re.compile(r"^School counselling, Spring")).fill(days)
    page.get_by_role("button", name="Save pledges").click()


def test_pledges_from_several_schools_are_run_awarded_and_called_off(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    # The demo round already has pledges from twelve schools; two more pledge here.
    invited = live_server.flask(
        "users", "invite", "--email", "sbm.perivale@demo.pooled.test", "--name", "Ola Bankole",
        "--role", "sbm", "--school-urn", "101906",
    )  # fmt: skip
    assert invited.returncode == 0, invited.stderr
    link = urlsplit(invited.stdout.strip().splitlines()[-1])
    page.goto(live_server.url + link.path)
    page.get_by_label("New password", exact=True).fill("pooled-demo")
    page.get_by_label("Type the new password again").fill("pooled-demo")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Your password is set")

    sign_in(page, live_server, "sbm.perivale@demo.pooled.test")
    expect(page.get_by_text("Buying rounds open for pledges")).to_be_visible()
    pledge_from_home(page, "5")  # within the school’s approval threshold
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Your pledges are saved")
    sign_out(page)

    sign_in(page, live_server, "sbm@demo.pooled.test")
    page.get_by_role("link", name=ROUND).first.click()
    page.get_by_label(re.compile(r"^School counselling, Spring")).fill("10")
    page.get_by_label("Your purchase-order number (optional)").fill("PO-GW-R1")
    page.get_by_role("button", name="Save pledges").click()
    banner = page.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("Your pledges are saved")
    expect(banner).to_contain_text("your head must approve them")  # over £2,500
    expect(page.locator("#pledge-approvals")).to_contain_text("Awaiting approval")
    share = page.locator("#indicative-price")
    expect(share).to_contain_text("14 schools pledged")
    # The consumer beside the server works the new price out; the page says so until then.
    wait_for_current_estimate(page)
    expect(share).to_contain_text("against £2,900.00 buying alone")  # 10 days at £290
    sign_out(page)

    # Greenwood's head approves the pledge before the deadline.
    sign_in(page, live_server, "head@demo.pooled.test")
    page.get_by_role("link", name=ROUND).first.click()
    page.get_by_role("button", name="Approve pledges").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("1 pledge approved")
    expect(page.locator("#pledge-approvals")).to_contain_text("Approved")
    sign_out(page)

    # The committee closes pledging, runs the aggregator and awards the run.
    sign_in(page, live_server, "committee@demo.pooled.test")
    page.get_by_role("link", name="Buying rounds", exact=True).click()
    page.get_by_role("link", name=ROUND).first.click()
    page.get_by_role("button", name="Close pledging now").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Pledging is closed")
    page.get_by_role("button", name="Run the aggregator").click()
    # The page refreshes itself (no JavaScript needed) until the queue consumer has solved the run.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Optimal", timeout=60_000)
    expect(page.locator("#allocation-lines")).to_contain_text("Greenwood Primary School")
    expect(page.locator("#allocation-lines")).to_contain_text("Perivale Primary School")
    page.get_by_role("button", name="Award this run").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Each school has been told")
    expect(page.locator("#contracts")).to_contain_text("West London Counselling Collective")
    sign_out(page)

    # Greenwood's SBM is told, and sees the call-off order and the saving.
    sign_in(page, live_server, "sbm@demo.pooled.test")
    expect(page.get_by_text(f"Buying round “{ROUND}” has been awarded")).to_be_visible()
    banner = page.locator(".govuk-notification-banner", has_text=ROUND)
    banner.get_by_role("link", name="See what your school got and why").click()
    expect(page.locator(".app-key-figures")).to_contain_text("Your saving")
    saving = page.locator(".app-key-figure", has_text="Your saving").inner_text()
    assert re.search(r"£[1-9][\d,]*\.\d\d", saving), saving
    calls = page.locator("#call-offs")
    expect(calls).to_contain_text("Confirmed")
    calls.get_by_role("link").first.click()
    expect(page.locator(".govuk-summary-list")).to_contain_text("contract price")
    expect(page.locator(".govuk-summary-list")).to_contain_text("PO-GW-R1")
    expect(page.locator(".govuk-summary-list")).not_to_contain_text("ROUND-")
