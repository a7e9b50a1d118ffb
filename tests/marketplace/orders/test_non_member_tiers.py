"""Explicit non-member tiers: a provider gives its own non-member price per band instead of an
uplift; non-members are quoted, shown and charged those prices; the form refuses prices
below the member price, bands that do not match, and an uplift given as well."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Membership
from app.time import london_today
from marketplace.offers import pricing
from marketplace.offers.errors import InvalidOffer
from marketplace.offers.models import Offer, OfferStatus
from marketplace.offers.services import OfferInput, create_offer, offer_terms
from tests.marketplace.conftest import draft
from tests.marketplace.offers.test_offers import offer_form

T = pricing.Tier


def test_explicit_non_member_tiers_replace_the_uplift():
    member = [T(0, 10_000), T(20, 9_000)]
    explicit = [T(20, 9_500), T(0, 11_000)]
    assert pricing.non_member_tiers(member, 1_000, explicit) == [T(0, 11_000), T(20, 9_500)]
    assert pricing.non_member_tiers(member, 1_000) == [T(0, 11_000), T(20, 9_900)]


def test_a_non_member_quote_takes_the_explicit_price_of_the_tier_the_quantity_reaches():
    member = [T(0, 10_000), T(20, 9_000)]
    quote = pricing.quote(
        25, member, setup_pence=1_000, non_member_prices=[T(0, 11_000), T(20, 9_500)]
    )
    assert (quote.unit_price_pence, quote.member_unit_price_pence) == (9_500, 9_000)
    assert quote.non_member_uplift_pence == 25 * 500
    assert quote.total_pence == 25 * 9_500 + 1_000
    contract = pricing.quote(
        5, member, contract_unit_price_pence=8_000, non_member_prices=[T(0, 11_000)]
    )
    assert contract.unit_price_pence == 8_000 and contract.non_member_uplift_pence == 0


@pytest.mark.parametrize(
    ("non_member", "message"),
    [
        ([T(0, 11_000)], "for every price band, or for none"),
        ([T(0, 11_000), T(10, 9_500)], "for every price band, or for none"),
        ([T(0, 9_999), T(20, 9_500)], "from 0 units cannot be less than the member price"),
        ([T(0, 11_000), T(20, 8_999)], "from 20 units cannot be less than the member price"),
    ],
)
def test_non_member_tiers_that_do_not_fit_the_member_tiers_are_named(non_member, message):
    problem = pricing.non_member_tiers_problem([T(0, 10_000), T(20, 9_000)], non_member)
    assert problem is not None and message in problem


def leave(school) -> None:
    db.session.execute(sa.delete(Membership).where(Membership.school_id == school.id))
    db.session.commit()


@pytest.fixture
def explicit(market):
    """Offer A (£250, £230 from 20 days) with non-member prices £300 and £260."""
    prices = {0: 30_000, 20: 26_000}
    for tier in market.offer_a.tiers:
        tier.non_member_unit_price_pence = prices[tier.min_quantity]
    db.session.commit()
    return market


def test_a_non_member_pays_the_explicit_price_and_a_member_the_member_price(explicit):
    member_order = draft(explicit, quantity=5)
    assert member_order.unit_price_pence == 25_000 and member_order.non_member_uplift_pence == 0
    leave(explicit.school_a)
    order = draft(explicit, quantity=20)
    assert order.unit_price_pence == 26_000
    assert order.total_pence == 20 * 26_000
    assert order.non_member_uplift_pence == 20 * 3_000


def test_pages_show_a_non_member_the_explicit_prices_beside_the_member_prices(
    client, login, explicit
):
    leave(explicit.school_a)
    login(explicit.sbm_a)
    page = client.get(f"/services/{explicit.service.id}").get_data(as_text=True)
    assert "Non-member prices" in page and "£300.00" in page and "£260.00" in page
    assert "Member prices:" in page
    # The catalogue's headline is at the school's own (non-member) prices too.
    explicit.offer_b.status = OfferStatus.WITHDRAWN
    db.session.commit()
    catalogue = client.get("/services").get_data(as_text=True)
    assert "£300.00" in catalogue and "£250.00" not in catalogue
    assert "(non-member prices)" in catalogue
    order_page = client.get(f"/offers/{explicit.offer_a.id}/order").get_data(as_text=True)
    assert "£300.00" in order_page and "Member prices:" in order_page

    login(explicit.sbm_b)
    member_page = client.get(f"/services/{explicit.service.id}").get_data(as_text=True)
    assert "£250.00" in member_page and "£300.00" not in member_page


def test_the_provider_gives_a_non_member_price_per_band_on_the_offer_form(client, login, market):
    login(market.provider_user_a)
    response = client.post(
        "/provider/offers/new",
        data=offer_form(
            market, **{"tiers-0-non_member_price": "320", "tiers-1-non_member_price": "299.99"}
        ),
    )
    assert response.status_code == 302
    offer = db.session.scalar(sa.select(Offer).order_by(Offer.id.desc()))
    assert [
        (t.min_quantity, t.unit_price_pence, t.non_member_unit_price_pence) for t in offer.tiers
    ] == [
        (1, 29_000, 32_000),
        (20, 26_550, 29_999),
    ]
    detail = client.get(response.location).get_data(as_text=True)
    assert "Non-member prices" in detail and "£299.99" in detail
    edit = client.get(f"/provider/offers/{offer.id}/edit").get_data(as_text=True)
    assert 'value="320.00"' in edit and 'value="299.99"' in edit


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"tiers-0-non_member_price": "280", "tiers-1-non_member_price": "270"},
            "less than the member price",
        ),
        ({"tiers-0-non_member_price": "320"}, "for every price band, or for none"),
        (
            {
                "tiers-0-non_member_price": "320",
                "tiers-1-non_member_price": "330",
            },
            "non-member price from 20 units cannot be more than the non-member price from 1",
        ),
        (
            {
                "tiers-0-non_member_price": "320",
                "tiers-1-non_member_price": "300",
                "non_member_uplift": "10",
            },
            "not both",
        ),
    ],
)
def test_bad_non_member_prices_are_refused_with_a_named_error_and_nothing_saved(
    client, login, market, changes, message
):
    login(market.provider_user_a)
    before = db.session.scalar(sa.select(sa.func.count(Offer.id)))
    response = client.post("/provider/offers/new", data=offer_form(market, **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert db.session.scalar(sa.select(sa.func.count(Offer.id))) == before


def test_the_database_refuses_a_non_member_price_below_the_member_price(market):
    terms = offer_terms(london_today())
    data = OfferInput(
        service_id=market.service.id,
        title="Days",
        valid_from=london_today(),
        valid_to=terms[-1].ends_on,
        tiers=[T(1, 10_000)],
        capacities={terms[0].key: 10},
        non_member_tiers=[T(1, 9_000)],
    )
    with pytest.raises(InvalidOffer, match="less than the member price"):
        create_offer(market.provider_a.id, data, market.provider_user_a)
    tier = market.offer_a.tiers[0]
    tier.non_member_unit_price_pence = tier.unit_price_pence - 1
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
