"""Service and order pages in the browser: each order button names its own offer, and the order
page's sidebar never splits a word across lines at 1280 px."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

SBM = "sbm@demo.pooled.test"

# Words of the text inside `selector` that the browser laid out over more than one line
# (a word split mid-way, as "Provide r's" was), with the width of the box they are in.
SPLIT_WORDS = """selector => {
  const split = [];
  for (const root of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /\\S+/g;
      let m;
      while ((m = re.exec(node.data)) !== null) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) split.push(m[0]);
      }
    }
  }
  return split;
}"""


def order_buttons(page) -> dict[str, str]:
    """{accessible name: href} of the page's "Order from …" buttons (names must not repeat)."""
    buttons = page.get_by_role("button", name=re.compile(r"^Order from "))
    found: dict[str, str] = {}
    for index in range(buttons.count()):
        button = buttons.nth(index)
        name = button.evaluate("el => el.textContent.replace(/\\s+/g, ' ').trim()")
        assert name not in found, f"two order buttons are both called {name!r}"
        found[name] = button.get_attribute("href")
    return found


def test_every_order_button_on_a_service_page_names_a_different_offer(live_server, page):
    sign_in(page, live_server, SBM)
    page.goto(live_server.url + "/services")
    services = page.eval_on_selector_all(
        "a[href*='/services/']", "els => [...new Set(els.map(e => e.href))]"
    )
    most: dict[str, str] = {}
    for href in services:
        page.goto(href)
        buttons = order_buttons(page)
        if len(buttons) > len(most):
            most = buttons
    assert len(most) >= 2, "no service in the demo has two offers to order from"
    assert len(set(most.values())) == len(most)  # different offers...
    for name in most:  # ...each named after its own: "Order from <provider>: <offer title>"
        assert re.match(r"^Order from .+: .+", name), name


def test_the_order_page_sidebar_splits_no_word_at_1280_px(live_server, page):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, SBM)
    page.goto(live_server.url + "/services")
    checked = 0
    for href in page.eval_on_selector_all(
        "a[href*='/services/']", "els => [...new Set(els.map(e => e.href))]"
    ):
        page.goto(href)
        for order_href in order_buttons(page).values():
            page.goto(live_server.url + order_href)
            sidebar = ".govuk-grid-column-one-third"
            assert page.locator(f"{sidebar} .govuk-summary-list__key").count() >= 2
            assert page.evaluate(SPLIT_WORDS, sidebar) == [], page.url
            checked += 1
        if checked >= 3:
            break
    assert checked >= 1


def test_the_split_word_check_finds_a_word_squeezed_into_a_narrow_box(live_server, page):
    sign_in(page, live_server, SBM)
    page.goto(live_server.url + "/services")
    page.evaluate(
        """() => { const p = document.createElement('p');
        p.className = 'app-squeezed'; p.style.width = '40px'; p.style.overflowWrap = 'anywhere';
        p.textContent = 'Provider’s rules'; document.body.append(p); }"""
    )
    assert page.evaluate(SPLIT_WORDS, ".app-squeezed") != []
