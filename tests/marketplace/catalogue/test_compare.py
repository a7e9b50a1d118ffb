"""Comparing two to four offers for a service side by side, priced at the school's quantity."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.time import london_today
from marketplace.catalogue.compare import compare_offers
from marketplace.catalogue.errors import (
    BadCompareQuantity,
    OfferNotForService,
    TooFewOffersToCompare,
    TooManyOffersToCompare,
)
from marketplace.offers.models import OfferStatus
from tests import factories
from tests.marketplace.conftest import draft
from tests.marketplace.html import error_summary, row_cells, text


@pytest.fixture
def shelf(market):
    """Five offers for counselling (A, B and three more) and one for another service."""
    provider_c = factories.make_provider("Gamma Wellbeing CIC")
    extra = [
        factories.make_offer(provider_c, market.service, tiers=[(0, 26_000)], min_quantity=3),
        factories.make_offer(provider_c, market.service, tiers=[(0, 24_000)], title="Group work"),
        factories.make_offer(
            market.provider_a, market.service, tiers=[(0, 30_000)], title="Crisis"
        ),
    ]
    other = factories.make_offer(market.provider_a, market.core_service, tiers=[(0, 9_000)])
    db.session.commit()
    return extra, other


def compare(market, ids, quantity=None, school=None):
    return compare_offers(
        market.service.id, ids, london_today(), school or market.school_a, quantity
    )


def test_offers_are_priced_at_the_smallest_order_all_of_them_take(market, shelf):
    (gamma, _, _), _ = shelf
    comparison = compare(market, [market.offer_a.id, market.offer_b.id, gamma.id])
    assert [v.offer.id for v in comparison.offers] == [
        market.offer_a.id,
        market.offer_b.id,
        gamma.id,
    ]
    assert (comparison.quantity, comparison.basis) == (3, "smallest order")
    assert [v.price.unit_price_pence for v in comparison.offers] == [25_000, 27_000, 26_000]


def test_offers_are_priced_at_what_the_school_last_ordered(market, shelf):
    draft(market, quantity=60)
    db.session.commit()
    comparison = compare(market, [market.offer_a.id, market.offer_b.id])
    assert (comparison.quantity, comparison.basis) == (60, "last order")
    assert [v.price.unit_price_pence for v in comparison.offers] == [23_000, 21_000]


def test_a_quantity_entered_reprices_every_offer(market, shelf):
    comparison = compare(market, [market.offer_a.id, market.offer_b.id], quantity=20)
    assert comparison.basis == "entered"
    assert [v.price.unit_price_pence for v in comparison.offers] == [23_000, 27_000]


@pytest.mark.parametrize(
    ("how_many", "error"),
    [(0, TooFewOffersToCompare), (1, TooFewOffersToCompare), (5, TooManyOffersToCompare)],
)
def test_two_to_four_offers_can_be_compared(market, shelf, how_many, error):
    extra, _ = shelf
    ids = [market.offer_a.id, market.offer_b.id, *(o.id for o in extra)][:how_many]
    with pytest.raises(error):
        compare(market, ids)


def test_the_same_offer_twice_counts_once(market, shelf):
    with pytest.raises(TooFewOffersToCompare):
        compare(market, [market.offer_a.id, market.offer_a.id])


def test_an_offer_of_another_service_or_not_live_is_refused(market, shelf):
    _, other = shelf
    with pytest.raises(OfferNotForService, match=f"offer {other.id} is not one"):
        compare(market, [market.offer_a.id, other.id])
    market.offer_b.status = OfferStatus.WITHDRAWN
    db.session.commit()
    with pytest.raises(OfferNotForService):
        compare(market, [market.offer_a.id, market.offer_b.id])


@pytest.mark.parametrize("quantity", [0, 10_001])
def test_a_quantity_out_of_range_is_refused(market, shelf, quantity):
    with pytest.raises(BadCompareQuantity):
        compare(market, [market.offer_a.id, market.offer_b.id], quantity=quantity)


# Pages -----------------------------------------------------------------------------------------


def test_the_service_page_offers_checkboxes_to_compare(client, login, market):
    login(market.sbm_a)
    page = client.get(f"/services/{market.service.id}").get_data(as_text=True)
    assert f'action="/services/{market.service.id}/compare"' in page
    assert f'name="offer" type="checkbox" value="{market.offer_a.id}"' in page


def test_the_comparison_page_shows_offers_side_by_side(client, login, market, shelf):
    (gamma, _, _), _ = shelf
    market.offer_b.notice_days = 30
    db.session.commit()
    login(market.sbm_a)
    ids = [market.offer_a.id, market.offer_b.id, gamma.id]
    response = client.get(
        f"/services/{market.service.id}/compare?" + "&".join(f"offer={i}" for i in ids)
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert row_cells(page, "Price for 3 days")[1:] == [
        "£250.00 per day for 3 days; from £230.00 per day at 20 days or more",
        "£270.00 per day for 3 days; from £210.00 per day at 50 days or more",
        "£260.00 per day for 3 days",
    ]
    assert row_cells(page, "Minimum order")[1:] == ["1 day", "1 day", "3 days"]
    assert "30 days’ notice runs" in row_cells(page, "Notice and cancelling")[2]
    assert row_cells(page, "Provider")[1:] == [
        "Alpha Counselling Ltd",
        "Beta Therapy Ltd",
        "Gamma Wellbeing CIC",
    ]
    assert "rating" not in text(page).lower()  # no ratings exist yet: no row for them
    assert f'href="/offers/{gamma.id}/order"' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("offer={a}", "Select at least 2 offers to compare"),
        ("", "Select at least 2 offers to compare"),
        ("offer={a}&offer={b}&offer={c1}&offer={c2}&offer={c3}", "Select no more than 4 offers"),
        ("offer={a}&offer={other}", "Compare only live offers for School counselling"),
        ("offer={a}&offer=abc", "Offers to compare: choose from the list"),
        ("offer={a}&offer={b}&quantity=ten", "Quantity must be a whole number"),
        ("offer={a}&offer={b}&quantity=0", "Enter a quantity from 1 to 10,000"),
    ],
)
def test_a_bad_choice_is_named_on_the_service_page(client, login, market, shelf, query, message):
    (c1, c2, c3), other = shelf
    ids = {"a": market.offer_a.id, "b": market.offer_b.id, "c1": c1.id, "c2": c2.id}
    ids |= {"c3": c3.id, "other": other.id}
    login(market.sbm_a)
    response = client.get(f"/services/{market.service.id}/compare?" + query.format(**ids))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert any(message in m for m in error_summary(page)), error_summary(page)
    assert "<title>Error: School counselling" in page
    assert 'id="compare-offers"' in page


def test_comparing_offers_of_an_unknown_service_is_404(client, login, market):
    login(market.sbm_a)
    response = client.get(
        f"/services/99999/compare?offer={market.offer_a.id}&offer={market.offer_b.id}"
    )
    assert response.status_code == 404
