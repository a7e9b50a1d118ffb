"""Each role's dashboard in Chromium on the demo partnership; each CSV matches its table."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

DASHBOARDS = [
    ("committee@demo.pooled.test", "Partnership dashboard", ["income-by-stream", "round-savings"]),
    (
        "admin@demo.pooled.test",
        "Partnership dashboard",
        ["spend-by-category", "capacity-use", "billing"],
    ),
    ("sbm@demo.pooled.test", "School dashboard", ["spend-by-service", "invoices-due"]),
    ("head@demo.pooled.test", "School dashboard", ["entitlements", "deadlines"]),
    ("provider@demo.pooled.test", "Provider dashboard", ["orders-by-status", "owed"]),
]


def table_cells(page, name: str) -> list[list[str]]:
    """The visible table of figures `name`: header row, then each row's cells as shown."""
    section = page.locator(f"section#{name}")
    header = [c.strip() for c in section.locator("thead th").all_inner_texts()]
    rows = []
    for row in section.locator("tbody tr").all():
        rows.append([c.strip() for c in row.locator("th, td").all_inner_texts()])
    return [header, *rows]


def as_shown(value: str, heading: str) -> str:
    """A CSV value written the way the page shows it (pounds with commas, dates in words)."""
    if heading.endswith("(£)"):
        pounds = float(value)
        return f"-£{abs(pounds):,.2f}" if pounds < 0 else f"£{pounds:,.2f}"
    if re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        from datetime import date

        day = date.fromisoformat(value)
        return f"{day.day} {day:%B %Y}"
    if re.fullmatch(r"\d+\.\d", value) and heading not in ("Academic year",):
        return f"{float(value):,.1f}%"
    if re.fullmatch(r"\d+", value):
        return f"{int(value):,}"
    return value


@pytest.mark.parametrize(("email", "heading", "tables"), DASHBOARDS)
def test_each_role_opens_its_dashboard_and_every_csv_matches_its_table(
    page, live_server, email, heading, tables
):
    expect = pytest.importorskip("playwright.sync_api").expect
    sign_in(page, live_server, email)
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    figures = page.locator(".app-key-figure")
    expect(figures.first).to_be_visible()
    # The partnership's shows its gross traded value beside its income (issue 17, item 11).
    assert figures.count() == (5 if heading == "Partnership dashboard" else 4)
    # Real figures from the demo's orders, rounds, tenders and invoices, not placeholders.
    assert page.locator("svg.app-chart").count() >= 1

    for name in tables:
        shown = table_cells(page, name)
        assert len(shown) > 1, f"{name} has no rows on the demo partnership"
        link = page.locator(f"section#{name} a", has_text="Download this table (CSV)")
        response = page.request.get(live_server.url + link.get_attribute("href"))
        assert response.ok and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.text())))
        headings = rows[0]
        assert [h.removesuffix(" (£)") for h in headings] == shown[0]
        converted = [
            [as_shown(v, headings[i]) if v else "—" for i, v in enumerate(row)] for row in rows[1:]
        ]
        assert converted == shown[1:], name


def test_the_year_filter_works_without_javascript(browser, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live_server, "committee@demo.pooled.test")
        page.goto(live_server.url + "/dashboard")
        years = page.get_by_label("Academic year", exact=True)
        last = years.locator("option").last.get_attribute("value")
        years.select_option(last)
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(rf"year={last}"))
        expect(page.locator("#spend-by-category-chart")).to_contain_text("Spend by category")
    finally:
        context.close()
