"""Member and non-member prices: an offer's uplift for schools that are not members this
academic year, what they are quoted and pay, and what membership would have saved them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Membership
from app.time import london_today
from marketplace.offers import pricing
from marketplace.orders import drafting
from marketplace.orders.errors import OfferUnavailable
from marketplace.orders.savings import membership_saving
from tests import factories
from tests.marketplace.conftest import draft


def test_the_non_member_price_is_the_member_price_plus_the_uplift_rounded_half_up():
    assert pricing.non_member_price(25_000, 1_500) == 28_750
    assert pricing.non_member_price(999, 1_250) == 1_124  # 124.875p rounds up to 125p
    assert pricing.non_member_price(1_001, 1_250) == 1_126  # 125.125p rounds down
    assert pricing.non_member_price(25_000, 0) == 25_000
    with pytest.raises(pricing.PricingError):
        pricing.non_member_price(25_000, 10_001)


def test_a_non_member_quote_uplifts_the_tier_but_not_the_setup_or_a_contract_price():
    tiers = [pricing.Tier(0, 10_000), pricing.Tier(20, 9_000)]
    quote = pricing.quote(20, tiers, setup_pence=5_000, non_member_uplift_bp=1_000)
    assert quote.unit_price_pence == 9_900 and quote.member_unit_price_pence == 9_000
    assert quote.non_member_uplift_pence == 20 * 900
    assert quote.total_pence == 20 * 9_900 + 5_000
    contract = pricing.quote(5, tiers, contract_unit_price_pence=8_000, non_member_uplift_bp=1_000)
    assert contract.unit_price_pence == 8_000 and contract.non_member_uplift_pence == 0


def leave(world: factories.World, school) -> None:
    """The school is no longer a member this academic year."""
    db.session.execute(sa.delete(Membership).where(Membership.school_id == school.id))
    db.session.commit()


@pytest.fixture
def uplifted(market):
    market.offer_a.non_member_uplift_bp = 1_500  # 15%
    db.session.commit()
    return market


def test_a_member_school_pays_the_member_price(uplifted):
    order = draft(uplifted, quantity=5)
    assert order.unit_price_pence == 25_000 and order.non_member_uplift_pence == 0
    assert order.total_pence == 125_000


def test_a_non_member_school_pays_the_non_member_price_and_the_uplift_is_recorded(uplifted):
    leave(uplifted, uplifted.school_a)
    order = draft(uplifted, quantity=5)
    assert order.unit_price_pence == 28_750
    assert order.total_pence == 5 * 28_750
    assert order.non_member_uplift_pence == 5 * 3_750


def test_a_non_member_school_cannot_order_a_core_service(uplifted):
    offer = factories.make_offer(uplifted.provider_a, uplifted.core_service)
    db.session.commit()
    leave(uplifted, uplifted.school_a)
    with pytest.raises(OfferUnavailable, match="Core services are for member schools"):
        draft(uplifted, offer_id=offer.id)


def test_membership_would_have_saved_the_sum_of_uplifts_on_placed_orders_this_year(uplifted):
    leave(uplifted, uplifted.school_a)
    first = draft(uplifted, quantity=2)
    drafting.submit(first.id, uplifted.school_a.id, uplifted.sbm_a)
    second = draft(uplifted, quantity=4)
    drafting.submit(second.id, uplifted.school_a.id, uplifted.sbm_a)
    draft(uplifted, quantity=3)  # a draft is not bought yet
    saving = membership_saving(uplifted.school_a.id, london_today())
    assert saving is not None
    assert saving.uplift_pence == (2 + 4) * 3_750 and saving.orders == 2
    assert membership_saving(uplifted.school_b.id, london_today()) is None  # a member


def test_the_service_and_order_pages_show_a_non_member_its_prices_and_the_saving(
    client, login, uplifted
):
    leave(uplifted, uplifted.school_a)
    placed = draft(uplifted, quantity=2)
    drafting.submit(placed.id, uplifted.school_a.id, uplifted.sbm_a)
    login(uplifted.sbm_a)
    page = client.get(f"/services/{uplifted.service.id}").get_data(as_text=True)
    assert "Non-member prices" in page and "£287.50" in page
    assert "Membership would have saved you <strong>£75.00</strong>" in page
    catalogue = client.get("/services").get_data(as_text=True)
    assert "£75.00" in catalogue and "for members" in catalogue
    order_page = client.get(f"/offers/{uplifted.offer_a.id}/order").get_data(as_text=True)
    assert "£287.50" in order_page and "15% above the member prices" in order_page

    login(uplifted.sbm_b)  # a member school sees member prices and no saving
    member_page = client.get(f"/services/{uplifted.service.id}").get_data(as_text=True)
    assert "£250.00" in member_page and "£287.50" not in member_page
    assert "membership-saving" not in member_page


def test_the_provider_sets_the_uplift_on_the_offer_form(client, login, uplifted):
    from tests.marketplace.offers.test_offers import offer_form

    login(uplifted.provider_user_a)
    response = client.post(
        "/provider/offers/new", data=offer_form(uplifted, non_member_uplift="12.5")
    )
    assert response.status_code == 302
    detail = client.get(response.location).get_data(as_text=True)
    assert "Non-member prices (12.5% more)" in detail
    assert "£326.25" in detail  # £290 + 12.5%
    bad = client.post("/provider/offers/new", data=offer_form(uplifted, non_member_uplift="120"))
    assert bad.status_code == 400 and "between 0 and 100" in bad.get_data(as_text=True)
