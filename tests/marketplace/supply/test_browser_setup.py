"""The committee sets the managed service up in Chromium against the demo partnership served by
gunicorn: a contract refused for its dates then recorded, an agency put on it, a rate entered in
parts and shown with its charge, and a school's pre-contract rate."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import sign_in

pytestmark = pytest.mark.browser


def test_the_committee_sets_up_a_contract_its_agency_rates_and_a_baseline(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    sign_in(page, live_server, "committee@demo.pooled.test")
    page.get_by_role("link", name="Supply cover", exact=True).click()
    page.get_by_role("link", name="Contracts, their agencies and rate cards").click()
    expect(page.locator("#supply-contracts")).to_be_visible()
    page.get_by_role("button", name="Record a contract").click()

    page.get_by_label("Title").fill("Supply staff 2030")
    page.get_by_label("Starts on").fill("2030-09-01")
    page.get_by_label("Ends on").fill("2030-08-01")
    page.get_by_label("Ranked, in turn").check()
    page.get_by_label("Each agency's window in ranked order (hours)").fill("2")
    page.get_by_role("button", name="Record the contract").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "The contract must end on or after its start"
    )
    page.get_by_label("Ends on").fill("2032-08-31")
    page.get_by_role("button", name="Record the contract").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Contract recorded")
    expect(page.get_by_role("heading", level=1)).to_have_text("Supply staff 2030")
    expect(page.locator(".govuk-summary-list")).to_contain_text("120 minutes each")

    page.get_by_label("Agency").select_option(label="Ealing Supply Partners")
    page.get_by_role("button", name="Put the agency on the contract").click()
    expect(page.locator("#supply-agencies")).to_contain_text("Ealing Supply Partners")

    page.locator("#provider_id").select_option(label="Ealing Supply Partners")
    page.get_by_label("Role").select_option("nursery-nurse")
    page.get_by_label("Half day").check()
    page.get_by_label("London weighting").select_option("outer-london")
    for label, value in (
        ("Worker's pay", "50.00"),
        ("Employer's National Insurance", "3.10"),
        ("Pension", "1.50"),
        ("Holiday pay", "6.04"),
        ("Agency fee", "abc"),
    ):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Save the rate").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("is not an amount in pounds")
    expect(page.locator("#fee-error")).to_be_visible()  # named on its field
    page.get_by_label("Agency fee", exact=True).fill("15.00")
    page.get_by_role("button", name="Save the rate").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("charge £75.64")
    expect(page.locator("#supply-rates")).to_contain_text("Nursery nurse")

    page.locator(".govuk-breadcrumbs").get_by_role("link", name="Contracts").click()
    page.get_by_role("link", name="Schools' pre-contract rates").click()
    page.get_by_label("Role").select_option("teacher")
    page.get_by_label("Day charge paid before the contract").fill("265.00")
    page.get_by_role("button", name="Save the rate").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Pre-contract rate saved")
    expect(page.locator("#supply-baselines")).to_contain_text(re.compile(r"£265\.00"))
