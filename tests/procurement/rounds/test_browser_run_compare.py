"""Comparing two runs of the demo's counselling round in Chromium, without JavaScript needs."""

from __future__ import annotations

import re

import pytest

from app.demo.activity import COMPARED_ROUND_TITLE
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser


def choose_run(select, number: int) -> None:
    """Choose "Run <number>: <its rules> (<how it ended>)" in a select of runs."""
    option = select.locator("option", has_text=re.compile(rf"^Run {number}: "))
    select.select_option(label=option.inner_text().strip())


def test_the_committee_chooses_two_runs_on_the_list_and_sees_them_side_by_side(page, live_server):
    expect = pytest.importorskip("playwright.sync_api").expect
    sign_in(page, live_server, "committee@demo.pooled.test")
    page.goto(live_server.url + "/rounds")
    page.get_by_role("link", name=COMPARED_ROUND_TITLE).click()
    expect(page.locator("#runs")).to_contain_text("Run 2")

    # The latest run second, the earlier one first; swapped here to choose them by hand.
    form = page.locator("#compare-runs")
    choose_run(form.get_by_label("First run"), 2)
    choose_run(form.get_by_label("Second run"), 1)
    form.get_by_role("button", name="Compare these runs").click()

    expect(page.get_by_role("heading", name="Compare two runs")).to_be_visible()
    assert "a=" in page.url and "b=" in page.url
    rules = page.locator("#compare-rules")
    expect(rules).to_contain_text("Each school buys each service from one provider")
    expect(rules.locator("tr", has_text="Largest share")).to_contain_text("60%")
    figures = page.locator("#compare-figures")
    expect(figures.locator("tr", has_text="Pooled cost")).to_contain_text("−£")  # run 1 cheaper
    expect(figures.locator("tr", has_text="Providers used")).to_be_visible()
    expect(page.locator("#compare-chart svg")).to_be_visible()
    schools = page.locator("#compare-schools tbody tr")
    assert schools.count() >= 10

    # Ordered by name on the server, then by the biggest rise.
    page.get_by_role("link", name="school name").click()
    names = page.locator("#compare-schools tbody th").all_inner_texts()
    assert names == sorted(names)
    page.get_by_role("link", name="biggest rise").click()
    expect(page.locator("strong[aria-current]")).to_have_text("biggest rise")

    # Choosing the same run twice is named on the form.
    choose_run(page.get_by_label("Second run"), 2)
    page.get_by_role("button", name="Compare these runs").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose two different runs")
    assert page.title().startswith("Error: ")

    # At 375 px the schools' table scrolls in its own box; the page itself does not.
    page.go_back()
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    box = page.locator(".app-table-scroll", has=page.locator("#compare-schools"))
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
