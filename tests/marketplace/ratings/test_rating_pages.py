"""Rating pages: rating from the order and booking pages, the offer's ratings in the catalogue,
the provider's ratings with reply forms, the contract page and the evaluators' pages; who may
open each, and that no page names the school or the person who rated."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.models import Role
from marketplace.orders.models import OrderStatus
from marketplace.ratings import services
from marketplace.supply import timesheets
from marketplace.supply.rules import RateUnit
from tests.marketplace.billing.conftest import make_contract
from tests.marketplace.html import banners, error_summary, text
from tests.marketplace.ratings.conftest import delivered, rate
from tests.marketplace.supply.conftest import book, post
from tests.procurement.tenders.factories import evaluate, make_tender, open_bids, submit_both_bids

ROLES = ["anonymous", *[r.value for r in Role]]
VALID = {"quality": "5", "timeliness": "4", "communication": "3", "comment": "Helpful"}


def user_for(world, role):
    return {
        "admin": world.admin,
        "committee": world.committee,
        "sbm": world.sbm_a,
        "head": world.head_a,
        "provider": world.provider_user_a,
        "trust": world.trust_user,
        "governor": world.governor_a,
    }[role]


def three_rated(world, contract=None):
    """Offer A rated by both schools (three orders), with comments; the first replied to."""
    orders = [
        delivered(world, contract=contract),
        delivered(world, school=world.school_b, contract=contract),
        delivered(world, contract=contract),
    ]
    ratings = [
        rate(world, orders[0], (5, 5, 4), "Calm and well organised"),
        rate(world, orders[1], (3, 4, 4), "Reports came late"),
        rate(world, orders[2], (4, 3, 4), ""),
    ]
    services.reply(ratings[1].id, world.provider_a.id, "Sorry: fixed now", world.provider_user_a)
    return ratings


def names(world) -> list[str]:
    """What must never appear beside a rating: the schools' and the raters' names."""
    return [
        world.school_a.name,
        world.school_b.name,
        world.sbm_a.name,
        world.sbm_b.name,
        world.head_a.name,
        world.sbm_a.email,
    ]


def offer_line(page: str, offer_id: int) -> str:
    """The text of the ratings line on an offer's card of the service page."""
    for line in re.findall(r'<p class="govuk-body app-offer-rating">(.*?)</p>', page, re.S):
        if f"/offers/{offer_id}/ratings" in line:
            return text(line)
    raise AssertionError(f"no ratings line for offer {offer_id}")


@pytest.mark.parametrize("role", ROLES)
def test_only_the_schools_own_staff_may_rate_its_order(client, auth, market, role):
    order = delivered(market)
    if role != "anonymous":
        auth.as_user(user_for(market, role))
    page = client.get(f"/orders/{order.id}/rating")
    if role == "anonymous":
        assert page.status_code == 302 and "/sign-in" in page.location
    elif role in ("sbm", "head"):
        assert page.status_code == 200
        assert "Rate order" in page.get_data(as_text=True)
    else:
        assert page.status_code == 403
    # Another school's business manager: not found, and nothing is written.
    auth.logout()
    auth.as_user(market.sbm_b)
    assert client.get(f"/orders/{order.id}/rating").status_code == 404
    assert client.post(f"/orders/{order.id}/rating", data=VALID).status_code == 404
    assert services.rating_of_order(order.id) is None


def test_the_order_page_offers_a_rating_once_delivered_and_until_rated(client, auth, market):
    confirmed = delivered(market, status=OrderStatus.CONFIRMED)
    order = delivered(market)
    auth.as_user(market.sbm_a)
    assert "Rate this service" not in client.get(f"/orders/{confirmed.id}").get_data(as_text=True)
    assert client.get(f"/orders/{confirmed.id}/rating").status_code == 409
    assert "Rate this service" in client.get(f"/orders/{order.id}").get_data(as_text=True)
    refused = client.post(f"/orders/{order.id}/rating", data={**VALID, "quality": ""})
    assert refused.status_code == 400
    assert error_summary(refused.get_data(as_text=True)) == ["Choose a score for quality"]
    assert services.rating_of_order(order.id) is None
    done = client.post(f"/orders/{order.id}/rating", data=VALID, follow_redirects=True)
    assert any("rating of order" in b for b in banners(done.get_data(as_text=True)))
    rating = services.rating_of_order(order.id)
    assert (rating.quality, rating.timeliness, rating.communication) == (5, 4, 3)
    assert "Rate this service" not in client.get(f"/orders/{order.id}").get_data(as_text=True)
    again = client.post(f"/orders/{order.id}/rating", data={**VALID, "quality": "1"})
    assert again.status_code == 302
    assert services.rating_of_order(order.id).quality == 5


def test_the_service_page_shows_averages_only_from_three_ratings(client, auth, market):
    orders = [delivered(market), delivered(market, school=market.school_b)]
    rate(market, orders[0], (5, 5, 5), "Excellent")
    rate(market, orders[1], (3, 3, 3), "Fine")
    auth.as_user(market.committee)
    page = client.get(f"/services/{market.service.id}").get_data(as_text=True)
    assert offer_line(page, market.offer_a.id).startswith(
        "Ratings from schools: Not enough ratings yet."
    )
    ratings_page = client.get(f"/offers/{market.offer_a.id}/ratings").get_data(as_text=True)
    assert "Not enough ratings yet" in ratings_page
    assert "Excellent" not in ratings_page  # no comment shows before the average does
    rate(market, delivered(market), (4, 4, 1), "")
    page = client.get(f"/services/{market.service.id}").get_data(as_text=True)
    assert offer_line(page, market.offer_a.id).startswith(
        "Ratings from schools: 3.7 out of 5 from 3 ratings."
    )
    assert "Not enough ratings yet" in offer_line(page, market.offer_b.id)


def test_an_offers_ratings_page_never_names_the_school_or_the_rater(client, auth, market):
    three_rated(market)
    auth.as_user(market.committee)
    page = client.get(f"/offers/{market.offer_a.id}/ratings")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    words = text(html)
    assert "Calm and well organised" in words and "Reports came late" in words
    assert "The provider replied: Sorry: fixed now" in words
    assert words.index("Reports came late") < words.index("Calm and well organised")  # newest first
    assert "Quality 4.0" in words and "Overall 4.0" in words and "Ratings 3" in words
    for name in names(market):
        assert name not in html


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_anyone_signed_in_reads_an_offers_ratings_but_not_a_drafts(client, auth, market, role):
    auth.as_user(user_for(market, role))
    assert client.get(f"/offers/{market.offer_a.id}/ratings").status_code == 200
    assert client.get("/offers/999999/ratings").status_code == 404


def test_the_provider_reads_its_ratings_without_names_and_replies_once(client, auth, market):
    order = delivered(market)
    rating = rate(market, order, (2, 3, 4), "Started late")
    auth.as_user(market.provider_user_a)
    html = client.get("/provider/ratings").get_data(as_text=True)
    assert "Started late" in html and "Not enough ratings yet" in html
    for name in names(market):
        assert name not in html
    field = f"rating-{rating.id}-reply"
    blank = client.post(f"/provider/ratings/{rating.id}/reply", data={field: "  "})
    assert blank.status_code == 400
    assert error_summary(blank.get_data(as_text=True)) == ["Enter your reply"]
    done = client.post(f"/provider/ratings/{rating.id}/reply", data={field: "We are sorry"})
    assert done.status_code == 302
    again = client.post(f"/provider/ratings/{rating.id}/reply", data={field: "Second"})
    assert again.status_code == 409
    assert "already replied" in error_summary(again.get_data(as_text=True))[0]
    # Another provider cannot see it or reply.
    auth.logout()
    auth.as_user(market.provider_user_b)
    assert "Started late" not in client.get("/provider/ratings").get_data(as_text=True)
    other = client.post(f"/provider/ratings/{rating.id}/reply", data={field: "Not ours"})
    assert other.status_code == 404
    assert services.provider_ratings(market.provider_a.id)[0].reply == "We are sorry"


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_only_providers_have_a_ratings_page(client, auth, market, role):
    auth.as_user(user_for(market, role))
    assert client.get("/provider/ratings").status_code == (200 if role == "provider" else 403)


def test_the_contract_page_shows_its_call_offs_ratings_without_names(client, auth, market):
    contract = make_contract(market.offer_a)
    three_rated(market, contract=contract)
    rate(market, delivered(market), (1, 1, 1), "Not under the contract")
    auth.as_user(market.committee)
    html = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    section = html[html.index('id="ratings"') :]
    words = text(section)
    assert "Ratings 3" in words and "Calm and well organised" in words
    assert "Not under the contract" not in words
    for name in names(market):
        assert name not in section


def test_evaluators_see_each_bidders_ratings_for_information(client, auth, market):
    three_rated(market)
    tw = make_tender(market)
    bid_a, bid_b = submit_both_bids(tw)
    open_bids(tw)
    evaluate(tw, {bid_a.id: (80, 70), bid_b.id: (60, 50)})
    auth.as_user(tw.committee)
    lot = client.get(f"/tenders/{tw.tender.id}/lots/{tw.lot.id}/evaluation")
    assert lot.status_code == 200
    html = lot.get_data(as_text=True)
    own = text(html[html.index(f'id="ratings-{bid_a.id}"') :])[:400]
    assert f"Schools’ ratings of {market.provider_a.name} (for information, not scored)" in own
    assert "Overall 4.0" in own
    other = text(html[html.index(f'id="ratings-{bid_b.id}"') :])[:300]
    assert f"{market.provider_b.name} (for information, not scored): Not enough ratings" in other
    score = client.get(f"/tenders/{tw.tender.id}/bids/{bid_a.id}/score")
    assert "for information, not scored" in score.get_data(as_text=True)


def test_the_school_rates_an_approved_week_from_the_booking_page(client, auth, supply):
    world = supply.world
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 18)))
    monday = date(2026, 9, 14)
    friday = datetime.combine(monday + timedelta(days=4), time(17), UTC)
    sheet = timesheets.submit(
        booking.id, booking.provider_id, monday, {monday: RateUnit.DAY}, None, now=friday
    )
    auth.as_user(world.sbm_a)
    assert "Rate this week" not in client.get(f"/supply/bookings/{booking.id}").get_data(
        as_text=True
    )
    assert client.get(f"/supply/timesheets/{sheet.id}/rating").status_code == 409
    timesheets.approve(sheet.id, world.school_a.id, None)
    assert "Rate this week" in client.get(f"/supply/bookings/{booking.id}").get_data(as_text=True)
    done = client.post(f"/supply/timesheets/{sheet.id}/rating", data=VALID)
    assert done.status_code == 302 and done.location.endswith(f"/supply/bookings/{booking.id}")
    assert services.rated_timesheet_ids([sheet.id]) == {sheet.id}
    assert "Rate this week" not in client.get(f"/supply/bookings/{booking.id}").get_data(
        as_text=True
    )
    auth.logout()
    auth.as_user(world.sbm_b)
    assert client.get(f"/supply/timesheets/{sheet.id}/rating").status_code == 404
