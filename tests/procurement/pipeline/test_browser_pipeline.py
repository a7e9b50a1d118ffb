"""From the renewal pipeline to a prefilled draft tender, in Chromium on the demo partnership."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

RE_TENDER = re.compile("^Re-tender")


def test_the_committee_re_tenders_a_contract_from_the_pipeline(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    sign_in(page, live_server, "committee@demo.pooled.test")
    page.get_by_role("link", name="Pipeline", exact=True).click()
    expect(page.get_by_role("heading", name="Renewal pipeline", level=1)).to_be_visible()
    expect(page.locator("#value-ending svg")).to_be_visible()
    # The demo decided to re-tender the soonest contract, and lines up the trust's HR contracts.
    expect(page.locator("#joint ~ .govuk-summary-card").first).to_contain_text("3 schools")

    card = page.locator(".govuk-summary-card", has=page.get_by_role("button", name=RE_TENDER)).first
    reference = card.locator("h3 a").inner_text().strip()
    card.get_by_role("button", name=RE_TENDER).click()

    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "prefilled from the contract"
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"to follow {reference}")
    assert page.locator("#reference-volumes tbody tr").count() >= 1
    expect(page.locator("#reference-volumes")).to_contain_text("Called off under " + reference)
    expect(page.locator("#reference-prices")).to_contain_text(reference)
    expect(page.locator("#reference-prices")).to_contain_text("£")
    expect(page.get_by_text("never shown to bidders")).to_be_visible()

    # Back on the pipeline the decision is recorded and acted on: no second draft.
    page.get_by_role("link", name="Pipeline", exact=True).click()
    acted = page.locator(
        ".govuk-summary-card", has=page.get_by_role("link", name=reference, exact=True)
    )
    expect(acted).to_contain_text("Re-tender")
    expect(acted.get_by_role("link", name=re.compile(r"^Draft tender TEN-"))).to_be_visible()
    expect(acted.get_by_role("button", name=RE_TENDER)).to_have_count(0)
