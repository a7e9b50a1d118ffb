"""Error pages: "Error: " before a title on a page with errors; a styled 414 for long addresses."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest


def title(page: str) -> str:
    match = re.search(r"<title>(.*?)</title>", page, re.S)
    assert match, page[:200]
    return match.group(1).strip()


def test_a_page_with_an_error_summary_starts_its_title_with_error(client, auth, world):
    auth.as_user(world.sbm_a)
    page = client.get("/services?min_price=50&max_price=10").text
    assert "govuk-error-summary" in page
    assert title(page) == "Error: Services – Pooled"
    assert title(client.get("/services").text) == "Services – Pooled"


def test_a_page_that_puts_error_in_its_own_title_gets_it_once(client):
    page = client.post("/sign-in", data={"email": "nobody@example.test", "password": "x"}).text
    assert title(page) == "Error: Sign in – Pooled"


def test_a_ten_thousand_character_search_gets_the_styled_414_page(client, auth, world):
    auth.as_user(world.sbm_a)
    response = client.get("/services?q=" + "a" * 10_000)
    assert response.status_code == 414
    assert title(response.text) == "The web address is too long – Pooled"
    assert "try fewer or shorter words" in response.text
    # A long search that fits is refused by the form, with its message.
    page = client.get("/services?q=" + "a" * 101).text
    assert title(page).startswith("Error: ")


@pytest.mark.slow
def test_gunicorn_lets_a_long_address_reach_the_app_for_its_styled_414(live_server):
    url = live_server.url + "/services?q=" + "counselling" * 1_000  # http://127.0.0.1: ours
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=10)  # noqa: S310 - our own server
    assert caught.value.code == 414
    body = caught.value.read().decode()
    assert "The web address is too long" in body and "govuk-template" in body
