"""The basket through its pages: adding from the order page, changing, removing, checking out."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.calendar import term_label
from app.extensions import db
from app.time import london_today
from marketplace.offers.models import OfferStatus
from marketplace.orders import basket
from marketplace.orders.models import BasketLine, Order, OrderStatus
from tests.marketplace.conftest import counts, reserved, term_key
from tests.marketplace.html import banners, error_summary, summary_value, text


def add_data(**changes: str) -> dict[str, str]:
    return {"term_key": term_key(), "quantity": "5", **changes}


def basket_check(page: str) -> str:
    match = re.search(r'name="basket_check" type="hidden" value="([0-9a-f]*)"', page)
    assert match, "no basket_check on the page"
    return match.group(1)


def header_link(page: str) -> str:
    """The header's basket link as a screen reader hears it."""
    match = re.search(r'<a class="app-header__link" href="/basket">(.*?)</a>', page, flags=re.S)
    assert match, "no basket link in the header"
    return re.sub(r"<[^>]+>", "", match.group(1))


def lines() -> list[BasketLine]:
    return list(db.session.scalars(sa.select(BasketLine).order_by(BasketLine.id)))


def test_the_order_page_offers_add_to_basket_beside_order(client, login, market):
    login(market.sbm_a)
    page = client.get(f"/offers/{market.offer_a.id}/order").get_data(as_text=True)
    assert f'formaction="/offers/{market.offer_a.id}/basket"' in page
    assert "Add to basket" in page
    assert header_link(page) == "Basket (0 lines)"


def test_an_sbm_adds_two_providers_offers_and_sees_them_grouped_and_priced(client, login, market):
    login(market.sbm_a)
    response = client.post(
        f"/offers/{market.offer_a.id}/basket", data=add_data(quantity="20", po_number="")
    )
    assert response.status_code == 302
    assert response.location.endswith("/basket")
    client.post(f"/offers/{market.offer_b.id}/basket", data=add_data(quantity="4"))

    page = client.get("/basket").get_data(as_text=True)

    assert header_link(page) == "Basket (2 lines)"
    headings = re.findall(r'<h2 class="govuk-heading-m">(.*?)</h2>', page)
    assert headings[:2] == ["Alpha Counselling Ltd", "Beta Therapy Ltd"]
    assert "Alpha Counselling Ltd: £4,600.00 (no VAT)" in text(page)
    assert "Beta Therapy Ltd: £1,080.00 (no VAT)" in text(page)
    assert summary_value(page, "Total") == "£5,680.00 excluding VAT"
    assert "Continue to checkout" in page


def test_adding_with_a_bad_quantity_shows_the_order_page_with_the_error(client, login, market):
    login(market.sbm_a)
    response = client.post(f"/offers/{market.offer_a.id}/basket", data=add_data(quantity="0"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error_summary(page) == ["The quantity must be at least 1"]
    assert "<title>Error: " in page
    response = client.post(f"/offers/{market.offer_a.id}/basket", data=add_data(quantity="500"))
    assert response.status_code == 409
    assert "only 100 days left" in " ".join(error_summary(response.get_data(as_text=True)))
    assert lines() == []


def test_changing_a_quantity_reprices_and_a_bad_one_is_named_on_its_line(client, login, market):
    login(market.sbm_a)
    client.post(f"/offers/{market.offer_a.id}/basket", data=add_data(quantity="5"))
    [line] = lines()
    response = client.post(
        f"/basket/lines/{line.id}/quantity", data={f"line-{line.id}-quantity": "25"}
    )
    assert response.status_code == 302
    page = client.get("/basket").get_data(as_text=True)
    assert summary_value(page, "Total") == "£5,750.00 excluding VAT"

    response = client.post(
        f"/basket/lines/{line.id}/quantity", data={f"line-{line.id}-quantity": "lots"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'href="#line-{line.id}-quantity"' in page
    assert error_summary(page) == ["Quantity must be a whole number, like 5"]
    db.session.expire_all()
    assert lines()[0].quantity == 25


def test_removing_a_line_takes_it_out(client, login, market):
    login(market.sbm_a)
    client.post(f"/offers/{market.offer_a.id}/basket", data=add_data())
    [line] = lines()
    response = client.post(f"/basket/lines/{line.id}/remove", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "School counselling from Alpha Counselling Ltd removed." in banners(page)
    assert "Your basket is empty" in page
    assert lines() == []


def test_a_line_withdrawn_since_is_named_and_checkout_waits(client, login, market):
    login(market.sbm_a)
    client.post(f"/offers/{market.offer_a.id}/basket", data=add_data())
    market.offer_a.status = OfferStatus.WITHDRAWN
    db.session.commit()
    page = client.get("/basket").get_data(as_text=True)
    assert "withdrawn by the provider" in text(page)
    assert "Continue to checkout" not in page
    assert "Checkout opens once every line can be ordered." in text(page)


def test_checkout_with_one_po_number_places_an_order_per_provider(client, login, market):
    login(market.sbm_a)
    client.post(f"/offers/{market.offer_a.id}/basket", data=add_data(quantity="12"))
    client.post(f"/offers/{market.offer_b.id}/basket", data=add_data(quantity="4"))
    page = client.get("/basket/checkout").get_data(as_text=True)
    assert "Waits for your head’s approval" in page  # £3,000 is over £2,500
    assert "Goes straight to the provider" in page
    assert "Place 2 orders" in page

    response = client.post(
        "/basket/checkout", data={"po_number": "PO-900", "basket_check": basket_check(page)}
    )

    assert response.status_code == 302
    done = client.get(response.location).get_data(as_text=True)
    assert "2 orders placed with purchase-order number PO-900." in banners(done)
    assert "PO-900" in text(done)
    orders = list(db.session.scalars(sa.select(Order).order_by(Order.id)))
    assert [(o.provider_id, o.po_number, o.status) for o in orders] == [
        (market.provider_a.id, "PO-900", OrderStatus.SUBMITTED),
        (market.provider_b.id, "PO-900", OrderStatus.APPROVED),
    ]
    assert reserved(market.offer_a.id) == 12
    assert lines() == []
    orders_page = client.get("/orders").get_data(as_text=True)
    assert orders_page.count("PO PO-900") == 2
    order_page = client.get(f"/orders/{orders[0].id}").get_data(as_text=True)
    assert f'href="{response.location}"' in order_page  # back to the orders placed with it


def test_checkout_without_a_po_number_or_with_a_changed_basket_changes_nothing(
    client, login, market
):
    login(market.sbm_a)
    client.post(f"/offers/{market.offer_a.id}/basket", data=add_data())
    page = client.get("/basket/checkout").get_data(as_text=True)
    before = counts()

    response = client.post("/basket/checkout", data={"po_number": "", "basket_check": "x"})
    assert response.status_code == 400
    assert error_summary(response.get_data(as_text=True)) == ["Enter your purchase-order number"]

    client.post(f"/offers/{market.offer_b.id}/basket", data=add_data())  # a colleague adds
    response = client.post(
        "/basket/checkout", data={"po_number": "PO-1", "basket_check": basket_check(page)}
    )
    changed = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Your basket has changed since you checked it" in " ".join(error_summary(changed))
    assert "Beta Therapy Ltd" in changed  # the basket as it now stands, to confirm again
    assert counts() == before
    assert len(lines()) == 2


def test_checkout_names_every_line_that_fails_and_places_nothing(client, login, market):
    login(market.sbm_a)
    client.post(f"/offers/{market.offer_a.id}/basket", data=add_data())
    client.post(f"/offers/{market.offer_b.id}/basket", data=add_data())
    market.offer_a.status = OfferStatus.WITHDRAWN
    market.offer_b.status = OfferStatus.WITHDRAWN
    db.session.commit()
    page = client.get("/basket/checkout").get_data(as_text=True)
    assert "Cannot be ordered:" in page
    assert 'name="po_number"' not in page  # no form while a line cannot be ordered
    before = counts()
    shown = basket.school_basket(market.school_a.id, london_today())
    response = client.post(
        "/basket/checkout", data={"po_number": "PO-2", "basket_check": shown.fingerprint}
    )
    assert response.status_code == 409
    term = term_label(term_key())
    assert error_summary(response.get_data(as_text=True)) == [
        "Nothing was submitted: 2 lines of your basket cannot be ordered as they stand.",
        f"School counselling from Alpha Counselling Ltd, {term}: This offer has been withdrawn "
        "by the provider and can no longer be ordered.",
        f"School counselling from Beta Therapy Ltd, {term}: This offer has been withdrawn "
        "by the provider and can no longer be ordered.",
    ]
    assert counts() == before


def test_only_the_schools_sbm_reaches_its_basket(client, login, market):
    login(market.sbm_a)
    client.post(f"/offers/{market.offer_a.id}/basket", data=add_data())
    [line] = lines()
    done = basket.checkout(
        market.school_a.id,
        market.sbm_a,
        po_number="PO-3",
        fingerprint=basket.school_basket(market.school_a.id, london_today()).fingerprint,
    )
    client.post(f"/offers/{market.offer_b.id}/basket", data=add_data(), follow_redirects=True)
    [line] = lines()
    login(market.sbm_b)
    assert "Beta Therapy" not in client.get("/basket").get_data(as_text=True)
    assert header_link(client.get("/basket").get_data(as_text=True)) == "Basket (0 lines)"
    assert client.post(f"/basket/lines/{line.id}/remove").status_code == 404
    assert (
        client.post(f"/basket/lines/{line.id}/quantity", data={"line-1-quantity": "2"}).status_code
        == 404
    )
    assert client.get(f"/basket/checkouts/{done.id}").status_code == 404
    login(market.head_a)
    assert client.get("/basket").status_code == 403
    assert client.get(f"/basket/checkouts/{done.id}").status_code == 200
    login(market.provider_user_a)
    assert client.get("/basket").status_code == 403
    assert len(lines()) == 1
