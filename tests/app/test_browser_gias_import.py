"""The admin's GIAS import in the browser: upload, preview (created, updated, skipped and why),
then import on confirmation; the local authority filter starts as the partnership's own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import Config
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

NATIONAL_SAMPLE = Path(Config.DEMO_DATA_DIR) / "schools" / "gias_sample_99.csv"


def school_total(page, server) -> int:
    page.goto(server.url + "/admin/schools")
    caption = page.locator("caption").first.inner_text()
    return int(re.search(r"[\d,]+", caption).group(0).replace(",", ""))


def upload(page, server, la_code: str | None = None) -> None:
    page.goto(server.url + "/admin/schools/import")
    if la_code is not None:
        page.get_by_label("Only this local authority code (optional)").fill(la_code)
    page.get_by_label("GIAS establishment export (CSV)").set_input_files(str(NATIONAL_SAMPLE))
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_url(re.compile(r"/admin/schools/import/preview/"))


def test_the_national_sample_is_previewed_and_imported_only_when_confirmed(live_server, page):
    sign_in(page, live_server, "admin@demo.pooled.test")
    before = school_total(page, live_server)

    page.goto(live_server.url + "/admin/schools/import")
    # The demo partnership's schools are Ealing's: the filter starts there.
    assert page.get_by_label("Only this local authority code (optional)").input_value() == "307"

    upload(page, live_server)  # the filter as it starts: no school of another area is taken
    assert page.locator("h1").inner_text() == "Check the schools to import"
    assert page.locator("#created").inner_text() == "To create: 0"
    # Every school of the sample is skipped, each with its reason: 9 closed, 90 elsewhere.
    assert page.locator("#skipped").inner_text() == "Skipped: 99"
    skipped = page.locator("#skipped-table")
    assert skipped.get_by_text("Closed", exact=True).count() == 9
    assert skipped.get_by_text("In another local authority (").count() == 90
    assert skipped.get_by_text("In another local authority (202)").count() == 38
    assert school_total(page, live_server) == before  # previewing wrote nothing

    upload(page, live_server, la_code="")  # every area, on purpose
    assert page.locator("#created").inner_text() == "To create: 90"
    assert "every local authority" in page.locator(".govuk-warning-text").inner_text()
    assert school_total(page, live_server) == before
    page.go_back()
    page.get_by_role("button", name="Import 90 schools").click()
    assert "Import finished: 90 created" in page.locator(".govuk-notification-banner").inner_text()
    assert school_total(page, live_server) == before + 90
