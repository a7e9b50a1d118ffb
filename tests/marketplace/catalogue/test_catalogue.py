"""The catalogue: search by words, filters, and a page per service with its live offers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.time import london_today
from marketplace.catalogue import services as catalogue
from marketplace.catalogue.models import ServiceKind, Unit
from marketplace.catalogue.services import CatalogueFilters
from marketplace.offers.models import OfferStatus
from marketplace.orders import drafting
from marketplace.orders.models import OrderStatus
from tests import factories
from tests.marketplace.conftest import draft, term_key
from tests.marketplace.html import error_summary, row_cells, text


@pytest.fixture
def shelf(market):
    """The world plus speech therapy (by the hour, no offers) and an offer from provider B."""
    speech = factories.make_service(
        "speech-test",
        name="Speech and language therapy",
        category="speech-language",
        unit=Unit.HOUR,
        description="HCPC-registered therapists",
    )
    db.session.commit()
    return speech


def names(**filters) -> list[str]:
    entries = catalogue.search(CatalogueFilters(**filters), london_today())
    return [entry.service.name for entry in entries]


def test_words_match_service_names_descriptions_offer_titles_providers_and_categories(shelf):
    assert names(q="counselling") == ["School counselling"]
    assert names(q="HCPC") == ["Speech and language therapy"]
    assert names(q="beta therapy") == ["School counselling"]  # provider B's name
    assert names(q="peer review") == ["Link-partner visit"]  # "CPD and peer review"
    assert names(q="school counselling alpha") == ["School counselling"]
    assert names(q="counselling speech") == []  # every word must match
    assert names(q="100%_") == []  # LIKE wildcards are searched literally


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["School counselling", "Link-partner visit", "Speech and language therapy"]),
        ({"category": "counselling"}, ["School counselling"]),
        ({"kind": ServiceKind.CORE}, ["Link-partner visit"]),
        ({"unit": Unit.HOUR}, ["Speech and language therapy"]),
        ({"min_price_pence": 26_000}, ["School counselling"]),  # provider B's £270 band
        ({"max_price_pence": 20_000}, []),
        ({"min_price_pence": 21_000, "max_price_pence": 21_000}, ["School counselling"]),
    ],
)
def test_filters_narrow_the_catalogue(shelf, filters, expected):
    assert sorted(names(**filters)) == sorted(expected)


def test_the_provider_filter_and_price_come_from_live_offers_only(shelf, market):
    assert names(provider_id=market.provider_b.id) == ["School counselling"]
    market.offer_b.status = OfferStatus.WITHDRAWN
    market.offer_a.valid_to = london_today() - timedelta(days=1)
    db.session.commit()
    assert names(provider_id=market.provider_b.id) == []
    (entry,) = [
        e
        for e in catalogue.search(CatalogueFilters(), london_today())
        if e.service.id == market.service.id
    ]
    assert (entry.offer_count, entry.lowest_price_pence) == (0, None)


def test_the_lowest_price_is_the_cheapest_band_of_any_live_offer(shelf, market):
    (entry,) = catalogue.search(CatalogueFilters(q="counselling"), london_today())
    assert (entry.offer_count, entry.lowest_price_pence) == (2, 21_000)


def test_the_catalogue_prices_a_service_at_what_the_school_last_ordered(shelf, market):
    draft(market, quantity=20)  # offer A: £230 a day from 20
    db.session.commit()
    (entry,) = catalogue.search(
        CatalogueFilters(q="counselling"), london_today(), market.school_a.id
    )
    assert entry.headline is not None
    typical = entry.headline.typical
    assert (typical.quantity, typical.unit_price_pence) == (20, 23_000)
    assert (entry.headline.lowest_unit_price_pence, entry.headline.lowest_from_quantity) == (
        21_000,
        50,
    )
    # Another school has ordered nothing: it sees the smallest order's price.
    (other,) = catalogue.search(
        CatalogueFilters(q="counselling"), london_today(), market.school_b.id
    )
    assert other.headline is not None
    assert (other.headline.typical.quantity, other.headline.typical.unit_price_pence) == (1, 25_000)


def test_a_cancelled_order_does_not_set_the_typical_quantity(shelf, market):
    order = draft(market, quantity=60)
    order.status = OrderStatus.CANCELLED
    db.session.commit()
    (entry,) = catalogue.search(
        CatalogueFilters(q="counselling"), london_today(), market.school_a.id
    )
    assert entry.headline is not None and entry.headline.typical.quantity == 1


def test_the_catalogue_says_no_from_price_once_the_quantity_reaches_the_lowest(shelf, market):
    draft(market, quantity=60)  # offer B: £210 a day from 50
    db.session.commit()
    (entry,) = catalogue.search(
        CatalogueFilters(q="counselling"), london_today(), market.school_a.id
    )
    assert entry.headline is not None
    assert entry.headline.typical.unit_price_pence == 21_000
    assert not entry.headline.shows_from


def test_the_service_page_prices_each_offer_at_the_schools_quantity(client, login, market):
    draft(market, quantity=5)
    db.session.commit()
    login(market.sbm_a)
    page = text(client.get(f"/services/{market.service.id}").get_data(as_text=True))
    assert "Prices are for 5 days, what your school last ordered" in page
    assert (
        "Your price: £250.00 per day for 5 days; from £230.00 per day at 20 days or more." in page
    )
    assert (
        "Your price: £270.00 per day for 5 days; from £210.00 per day at 50 days or more." in page
    )


def test_the_service_page_shows_capacity_left_per_term_and_excludes_dead_offers(market):
    order = draft(market, quantity=30)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    market.offer_b.status = OfferStatus.WITHDRAWN
    db.session.commit()
    page = catalogue.service_page(market.service.id, london_today(), market.school_a)
    (view,) = page.offers
    assert view.offer.id == market.offer_a.id
    current = next(t for t in view.terms if t.term.key == term_key())
    assert (current.capacity, current.left) == (100, 70)
    assert view.can_order


def test_an_excluded_school_sees_why_it_cannot_order(market):
    market.offer_a.areas = ["Southall"]
    db.session.commit()
    page = catalogue.service_page(market.service.id, london_today(), market.school_a)
    view = next(v for v in page.offers if v.offer.id == market.offer_a.id)
    assert view.problem == "Only offered in Southall"
    assert not view.can_order


# Pages -----------------------------------------------------------------------------------------


def test_the_catalogue_page_lists_services_by_category_with_prices(shelf, client, login, market):
    login(market.sbm_a)
    page = client.get("/services").get_data(as_text=True)
    assert error_summary(page) == []
    assert "3</strong> services" in page
    assert "Counselling" in page and "CPD and peer review" in page
    assert "2 offers: £250.00 per day for 1 day; from £210.00 per day at 50 days or more" in text(
        page
    )
    filtered = client.get("/services?q=therapy&category=speech-language").get_data(as_text=True)
    assert "1</strong> service match" in filtered
    assert "School counselling" not in filtered


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("min_price=abc", "is not an amount in pounds"),
        ("min_price=300&max_price=100", "highest price must be more than the lowest"),
        ("max_price=-5", "cannot be negative"),
        ("category=astrology", "Not a valid choice"),
    ],
)
def test_a_bad_filter_is_explained_and_ignored(shelf, client, login, market, query, message):
    login(market.sbm_a)
    response = client.get(f"/services?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert any(message in m for m in error_summary(page)), error_summary(page)
    assert "3</strong> services" in page  # the bad filter narrowed nothing


def test_the_service_page_shows_tiers_capacity_lead_time_and_notice_rules(client, login, market):
    market.offer_a.notice_days = 30
    market.offer_a.cancellation_charge_bp = 1_500
    market.offer_a.notice_rules = "A term's notice, please."
    db.session.commit()
    login(market.sbm_a)
    page = client.get(f"/services/{market.service.id}").get_data(as_text=True)
    assert row_cells(page, "1 to 19 days") == ["1 to 19 days", "£250.00"]
    assert row_cells(page, "20 or more days") == ["20 or more days", "£230.00"]
    assert "10 working days" in text(page)
    assert "30 days once the provider has confirmed; admin charge 15% of the order value" in text(
        page
    )
    assert "A term's notice, please." in text(page)
    assert f'href="/offers/{market.offer_a.id}/order"' in page


def test_heads_and_the_partnership_see_offers_but_only_sbms_get_an_order_button(
    client, login, market
):
    login(market.head_a)
    page = client.get(f"/services/{market.service.id}").get_data(as_text=True)
    assert "Alpha Counselling Ltd" in page and f"/offers/{market.offer_a.id}/order" not in page
    login(market.committee)
    assert client.get(f"/services/{market.service.id}").status_code == 200


def test_an_unknown_service_is_404(client, login, market):
    login(market.sbm_a)
    assert client.get("/services/99999").status_code == 404
