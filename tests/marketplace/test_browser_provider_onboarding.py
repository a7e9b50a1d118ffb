"""In Chromium against the demo served by gunicorn: an organisation applies to become a
provider, the office approves it, the applicant accepts the invitation, uploads its compliance
documents and publishes an offer with a non-member uplift; a member school's SBM and a
non-member school's SBM each see and are quoted their own price."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.time import london_today
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
APPLICANT = "lena@harbourcounselling.example"
ORGANISATION = "Harbour Counselling Ltd"
DOCUMENTS = (
    "Public liability insurance",
    "Employer’s liability insurance",
    "Safeguarding policy",
    "DBS declaration",
    "Data-protection (DPA) agreement",
)


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def quote_two_days(page, server, expect, email: str, expected_total: str) -> None:
    sign_in(page, server, email)
    page.get_by_role("link", name="Services", exact=True).click()
    page.get_by_role("link", name="School counselling").click()
    page.get_by_role("button", name=f"Order from {ORGANISATION}").click()
    page.locator("input[name=term_key]").first.check()
    page.get_by_label("How many?").fill("2")
    page.get_by_label("Purchase-order number").fill("PO-HARBOUR-1")
    page.get_by_role("button", name="Save and check the price").click()
    expect(page.locator(".govuk-summary-list").first).to_contain_text(expected_total)
    sign_out(page)


def test_a_provider_applies_is_approved_complies_and_sells_at_member_and_non_member_prices(
    page, live_server
):
    expect = pytest.importorskip("playwright.sync_api").expect
    today = london_today()

    # The organisation applies from the sign-in page, signed out.
    page.goto(live_server.url + "/sign-in")
    page.get_by_role("link", name="Become a provider").first.click()
    page.get_by_label("Organisation name").fill(ORGANISATION)
    page.get_by_role("radio", name="A company").check()
    page.get_by_label("Address", exact=True).fill("3 Quay Street\nBrentford TW8 0AA")
    page.get_by_label("Companies House number (if you are a company)").fill("09123456")
    page.get_by_label("Contact name").fill("Lena Fischer")
    page.get_by_label("Contact email address").fill(APPLICANT)
    page.get_by_label("Contact telephone number").fill("020 8560 0000")
    page.get_by_role("checkbox", name="Counselling", exact=True).check()
    page.get_by_role("button", name="Send the application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Application sent")

    # The office approves it; the invitation is in the outbox.
    sign_in(page, live_server, "admin@demo.pooled.test")
    page.get_by_role("link", name="Applications", exact=True).click()
    page.get_by_role("link", name=ORGANISATION).click()
    page.get_by_role("button", name="Approve and invite").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("is now a provider")
    page.goto(live_server.url + "/admin/outbox")
    page.get_by_role("row", name=re.compile(APPLICANT)).get_by_role("link").first.click()
    body = page.locator("pre.app-email-text").inner_text()
    invitation = re.search(r"https?://\S*/invitation/\S+", body).group(0)
    sign_out(page)

    # The applicant accepts, uploads the five documents and publishes an offer.
    page.goto(live_server.url + re.sub(r"^https?://[^/]+", "", invitation))
    page.get_by_label("New password", exact=True).fill("harbour passphrase")
    page.get_by_label("Type the new password again").fill("harbour passphrase")
    page.get_by_role("button", name="Set password").click()
    sign_in(page, live_server, APPLICANT, "harbour passphrase")
    page.get_by_role("link", name="Compliance", exact=True).click()
    for document in DOCUMENTS:
        page.get_by_role("link", name=re.compile(rf"^Upload\s+{re.escape(document)}", re.I)).click()
        page.get_by_label("Issued or started on").fill((today - timedelta(days=30)).isoformat())
        page.get_by_label("Expires on", exact=True).fill((today + timedelta(days=300)).isoformat())
        if document == "DBS declaration":
            page.get_by_label("Date of the last DBS check").fill(
                (today - timedelta(days=60)).isoformat()
            )
            page.get_by_label("Declaration", exact=True).fill(
                "All our counsellors hold enhanced DBS checks."
            )
        page.get_by_label("The document").set_input_files(
            files=[{"name": "certificate.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )
        page.get_by_role("button", name="Upload").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text("uploaded")
    expect(page.locator(".govuk-tag", has_text="In date")).to_have_count(5)

    page.get_by_role("link", name="Offers", exact=True).click()
    page.get_by_role("button", name="Put up a new offer").click()
    service = page.locator("#service_id option", has_text="School counselling").first
    page.get_by_label("Service", exact=True).select_option(service.get_attribute("value"))
    page.get_by_label("Title", exact=True).fill("Harbour counselling days")
    page.get_by_label("Available until").fill((today + timedelta(days=700)).isoformat())
    page.locator("#tiers-0-min_quantity").fill("1")
    page.locator("#tiers-0-unit_price").fill("200")
    capacities = page.locator("input[id^='capacities-'][id$='-capacity']")
    for index in range(capacities.count()):
        capacities.nth(index).fill("50")
    page.get_by_label("Extra for schools that are not members (%, optional)").fill("10")
    page.get_by_role("button", name="Publish in the catalogue").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("published")
    expect(page.get_by_text("Non-member prices (10% more)")).to_be_visible()
    sign_out(page)

    # A member school pays £200 a day, a non-member school £220.
    quote_two_days(page, live_server, expect, "sbm@demo.pooled.test", "£400.00")
    quote_two_days(page, live_server, expect, "nonmember-sbm@demo.pooled.test", "£440.00")
