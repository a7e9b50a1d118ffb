"""The provider portal: offers created, changed, published and withdrawn through the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import audit
from app.calendar import Term
from app.extensions import db
from app.models import ProviderKind
from app.time import london_today
from marketplace.offers import services as offers
from marketplace.offers.errors import InvalidOffer, OfferNotFound, OfferStateConflict
from marketplace.offers.models import Offer, OfferStatus
from marketplace.offers.pricing import Tier
from marketplace.offers.services import OfferInput
from marketplace.orders import access, drafting
from marketplace.orders.models import Order
from tests import factories
from tests.marketplace.conftest import draft, reserved, term_key
from tests.marketplace.html import banners, error_summary


def offer_form(market, **changes) -> dict[str, str]:
    """A complete, valid offer form as the browser posts it."""
    terms = offers.offer_terms(london_today())
    data = {
        "service_id": str(market.service.id),
        "title": "Counselling days with supervision",
        "description": "Experienced counsellors.",
        "valid_from": london_today().isoformat(),
        "valid_to": terms[-1].ends_on.isoformat(),
        "lead_time_days": "10",
        "notice_days": "30",
        "cancellation_charge": "12.5",
        "notice_rules": "A term's notice.",
        "min_quantity": "1",
        "setup": "",
        "excluded_school_urns": "",
        "tiers-0-min_quantity": "1",
        "tiers-0-unit_price": "290",
        "tiers-1-min_quantity": "20",
        "tiers-1-unit_price": "265.50",
        "tiers-2-min_quantity": "",
        "tiers-2-unit_price": "",
        "action": "publish",
    }
    for index, term in enumerate(terms):
        data[f"capacities-{index}-term_key"] = term.key
        data[f"capacities-{index}-capacity"] = "120" if index == 0 else ""
    data.update(changes)
    return data


def offer_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Offer))


def test_a_provider_puts_up_an_offer_in_pounds_and_it_is_stored_in_pence(client, login, market):
    login(market.provider_user_a)
    response = client.post("/provider/offers/new", data=offer_form(market))
    assert response.status_code == 302
    offer = db.session.scalar(sa.select(Offer).order_by(Offer.id.desc()))
    assert offer.provider_id == market.provider_a.id
    assert offer.status is OfferStatus.LIVE
    assert [(t.min_quantity, t.unit_price_pence) for t in offer.tiers] == [
        (1, 29_000),
        (20, 26_550),
    ]
    first_term = offers.offer_terms(london_today())[0].key
    assert {c.term_key: c.capacity for c in offer.capacities} == {first_term: 120}
    assert offer.cancellation_charge_bp == 1_250
    assert [e.action for e in offers.history(offer)] == ["created", "published"]
    page = client.get(response.location).get_data(as_text=True)
    assert "published in the catalogue" in " ".join(banners(page))


def test_saving_as_a_draft_keeps_the_offer_out_of_the_catalogue_until_published(
    client, login, market
):
    login(market.provider_user_a)
    client.post("/provider/offers/new", data=offer_form(market, action="draft"))
    offer = db.session.scalar(sa.select(Offer).order_by(Offer.id.desc()))
    assert offer.status is OfferStatus.DRAFT
    login(market.sbm_a)
    assert client.get(f"/offers/{offer.id}/order").status_code == 404
    login(market.provider_user_a)
    assert client.post(f"/provider/offers/{offer.id}/publish").status_code == 302
    db.session.refresh(offer)
    assert offer.status is OfferStatus.LIVE


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, "Enter a title"),
        (
            {
                "tiers-0-min_quantity": "",
                "tiers-0-unit_price": "",
                "tiers-1-min_quantity": "",
                "tiers-1-unit_price": "",
            },
            "Enter at least one price",
        ),
        ({"tiers-1-unit_price": "300"}, "cannot be more than the price from 1"),
        ({"tiers-1-min_quantity": ""}, "both the starting quantity and the price"),
        ({"tiers-1-min_quantity": "1"}, "different quantity"),
        ({"tiers-0-unit_price": "2.999"}, "two decimal places"),
        ({"tiers-0-unit_price": "0"}, "more than £0"),
        ({"tiers-0-min_quantity": "5"}, "start at or below the minimum order"),
        ({"valid_to": "2001-01-01"}, "end on or after the day it starts"),
        ({"valid_from": "31/02/2026"}, "enter a real date"),
        ({"cancellation_charge": "150"}, "between 0 and 100"),
        ({"cancellation_charge": "ten"}, "must be a number"),
        ({"lead_time_days": "2.5"}, "whole number"),
        ({"notice_days": "-3"}, "between 0 and 365"),
        ({"capacities-0-capacity": ""}, "capacity for at least one term"),
        ({"capacities-0-capacity": "-1"}, "between 0 and 1,000,000"),
        ({"capacities-0-term_key": "1999-autumn"}, "not a term you can offer"),
        ({"excluded_school_urns": "101899, abc"}, "“abc” is not a URN"),
        ({"excluded_school_urns": "123"}, "No school has the URN 123"),
        ({"service_id": "0"}, "Choose a service"),
        ({"areas": "Atlantis"}, "Unknown area: Atlantis"),
    ],
)
def test_a_bad_offer_is_refused_with_a_clear_message_and_nothing_saved(
    client, login, market, changes, message
):
    login(market.provider_user_a)
    before = offer_count()
    response = client.post("/provider/offers/new", data=offer_form(market, **changes))
    assert response.status_code in (400, 409)
    summary = error_summary(response.get_data(as_text=True))
    assert any(message in item for item in summary), summary
    assert offer_count() == before


def test_capacity_outside_the_offer_dates_is_refused(client, login, market):
    terms = offers.offer_terms(london_today())
    data = offer_form(market, valid_to=terms[0].ends_on.isoformat())
    data[f"capacities-{len(terms) - 1}-capacity"] = "10"
    login(market.provider_user_a)
    response = client.post("/provider/offers/new", data=data)
    assert response.status_code == 400
    assert any("outside the dates" in m for m in error_summary(response.get_data(as_text=True)))


def _input(market, **changes) -> OfferInput:
    offer = market.offer_a
    values = {
        "service_id": offer.service_id,
        "title": offer.title,
        "valid_from": offer.valid_from,
        "valid_to": offer.valid_to,
        "tiers": [Tier(t.min_quantity, t.unit_price_pence) for t in offer.tiers],
        "capacities": {c.term_key: c.capacity for c in offer.capacities},
    }
    values.update(changes)
    return OfferInput(**values)


def test_capacity_cannot_drop_below_what_schools_have_ordered(market):
    order = draft(market, quantity=30)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    capacities = {c.term_key: c.capacity for c in market.offer_a.capacities}
    with pytest.raises(InvalidOffer, match="30 units are already ordered"):
        offers.update_offer(
            market.offer_a.id,
            market.provider_a.id,
            _input(market, capacities={**capacities, term_key(): 29}),
            market.provider_user_a,
        )
    without = {k: v for k, v in capacities.items() if k != term_key()}
    with pytest.raises(InvalidOffer, match="cannot be removed"):
        offers.update_offer(
            market.offer_a.id,
            market.provider_a.id,
            _input(market, capacities=without),
            market.provider_user_a,
        )
    offers.update_offer(
        market.offer_a.id,
        market.provider_a.id,
        _input(market, capacities={**capacities, term_key(): 30}),
        market.provider_user_a,
    )
    assert reserved(market.offer_a.id) == 30
    assert [e.action for e in offers.history(market.offer_a)] == ["updated"]


def test_changing_prices_in_place_keeps_each_band_and_orders_keep_their_price(market):
    order = draft(market, quantity=5)
    offers.update_offer(
        market.offer_a.id,
        market.provider_a.id,
        _input(market, tiers=[Tier(0, 26_000), Tier(10, 24_000)]),
        market.provider_user_a,
    )
    assert [(t.min_quantity, t.unit_price_pence) for t in market.offer_a.tiers] == [
        (0, 26_000),
        (10, 24_000),
    ]
    db.session.refresh(order)
    assert order.total_pence == 125_000  # priced when drafted; submit asks to accept the change
    (event,) = offers.history(market.offer_a)
    assert event.before["tiers"] == [[0, 25_000], [20, 23_000]]
    assert event.after["tiers"] == [[0, 26_000], [10, 24_000]]


def test_a_withdrawn_offer_leaves_the_catalogue_and_cannot_be_ordered(client, login, market):
    order = draft(market, quantity=5)
    drafting.submit(order.id, market.school_a.id, market.sbm_a)
    login(market.provider_user_a)
    response = client.post(f"/provider/offers/{market.offer_a.id}/withdraw")
    assert response.status_code == 302
    assert market.offer_a.status is OfferStatus.WITHDRAWN
    assert access.get_order_for_school(order.id, market.school_a.id).status.value == "approved"
    login(market.sbm_a)
    page = client.get(f"/services/{market.service.id}").get_data(as_text=True)
    assert f'id="offer-{market.offer_a.id}"' not in page
    assert f'id="offer-{market.offer_b.id}"' in page
    response = client.get(f"/offers/{market.offer_a.id}/order")
    assert response.status_code == 409
    assert "withdrawn by the provider" in response.get_data(as_text=True)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Order))
    response = client.post(
        f"/offers/{market.offer_a.id}/order",
        data={"term_key": term_key(), "quantity": "2", "po_number": "PO-9"},
    )
    assert response.status_code == 409
    assert any("withdrawn" in m for m in error_summary(response.get_data(as_text=True)))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/provider/offers/{id}"),
        ("get", "/provider/offers/{id}/edit"),
        ("post", "/provider/offers/{id}/edit"),
        ("post", "/provider/offers/{id}/publish"),
        ("post", "/provider/offers/{id}/withdraw"),
    ],
)
def test_a_provider_cannot_see_or_touch_another_providers_offer(
    client, login, market, method, path
):
    login(market.provider_user_b)
    response = getattr(client, method)(path.format(id=market.offer_a.id), data={})
    assert response.status_code == 404
    assert market.offer_a.status is OfferStatus.LIVE
    assert audit.history("offer", market.offer_a.id) == []


def test_the_service_refuses_another_providers_offer_too(market):
    with pytest.raises(OfferNotFound):
        offers.withdraw_offer(market.offer_a.id, market.provider_b.id, market.provider_user_b)


def test_a_school_that_is_also_a_provider_runs_its_offers_through_its_sbm(client, login, market):
    hub = factories.make_provider(
        "Alpha Teaching School Hub", kind=ProviderKind.SCHOOL, school_id=market.school_a.id
    )
    db.session.commit()
    login(market.sbm_a)
    assert client.get("/provider/offers").status_code == 200
    response = client.post("/provider/offers/new", data=offer_form(market, title="Hub peer review"))
    assert response.status_code == 302
    offer = db.session.scalar(sa.select(Offer).where(Offer.title == "Hub peer review"))
    assert offer.provider_id == hub.id
    assert "manage its offers" in client.get("/orders").get_data(as_text=True)
    # It cannot order its own offer, and another school's SBM has no provider portal.
    response = client.get(f"/offers/{offer.id}/order")
    assert "own school" in response.get_data(as_text=True)
    login(market.sbm_b)
    assert client.get("/provider/offers").status_code == 403


def test_editing_an_offer_through_the_page_prefills_it_and_saves_changes(client, login, market):
    login(market.provider_user_a)
    page = client.get(f"/provider/offers/{market.offer_a.id}/edit").get_data(as_text=True)
    assert 'value="250.00"' in page and 'value="230.00"' in page
    terms = sorted(
        {c.term_key for c in market.offer_a.capacities}
        | {t.key for t in offers.offer_terms(london_today())}
    )
    data = offer_form(market, title="Renamed", valid_from=market.offer_a.valid_from.isoformat())
    data["valid_to"] = market.offer_a.valid_to.isoformat()
    for key in [k for k in data if k.startswith("capacities-")]:
        del data[key]
    for index, key in enumerate(sorted(terms, key=Term.parse)):
        data[f"capacities-{index}-term_key"] = key
        data[f"capacities-{index}-capacity"] = "100"
    response = client.post(f"/provider/offers/{market.offer_a.id}/edit", data=data)
    assert response.status_code == 302, error_summary(response.get_data(as_text=True))
    db.session.refresh(market.offer_a)
    assert market.offer_a.title == "Renamed"
    assert [t.unit_price_pence for t in market.offer_a.tiers] == [29_000, 26_550]


def test_publishing_an_expired_draft_is_refused(market):
    offer = factories.make_offer(
        market.provider_a,
        market.service,
        status=OfferStatus.DRAFT,
        valid_to=london_today() - timedelta(days=1),
    )
    db.session.commit()
    with pytest.raises(OfferStateConflict, match="expired"):
        offers.publish_offer(offer.id, market.provider_a.id, market.provider_user_a)


def test_only_sellers_reach_the_provider_portal(client, login, market):
    for user, status in ((market.head_a, 403), (market.admin, 403), (market.sbm_b, 403)):
        login(user)
        assert client.get("/provider/offers").status_code == status, user.role
