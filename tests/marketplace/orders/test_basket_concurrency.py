"""Baskets checked out at the same moment (PostgreSQL, real threads, real commits): capacity is
never oversold, a refused checkout leaves nothing behind, a basket is ordered once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Role, User
from app.time import london_today
from marketplace.offers.models import OfferCapacity
from marketplace.orders import basket
from marketplace.orders.errors import BasketChanged, CheckoutRefused
from marketplace.orders.models import BasketLine, Checkout, Order
from tests import factories
from tests.marketplace.conftest import term_key
from tests.support.concurrency import race, racing_app

SCHOOLS = 8
LAST_UNITS = 3

pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def live_app(backend: str, module_database: str, tmp_path_factory: Any) -> Iterator[Flask]:
    with racing_app(
        backend, module_database, tmp_path_factory.mktemp("basket-race"), SCHOOLS + 4
    ) as app:
        yield app


def checkout_job(school_id: int, user_id: int, fingerprint: str) -> Callable[[], Any]:
    def job() -> Any:
        user = db.session.get(User, user_id)
        assert user is not None
        done = basket.checkout(school_id, user, po_number="PO-RACE", fingerprint=fingerprint)
        return len(done.orders)

    return job


def reserved(offer_id: int) -> int:
    return db.session.scalar(
        sa.select(OfferCapacity.reserved).where(
            OfferCapacity.offer_id == offer_id, OfferCapacity.term_key == term_key()
        )
    )


def test_baskets_racing_for_the_last_units_order_them_once_and_the_rest_write_nothing(live_app):
    with live_app.app_context():
        service = factories.make_service()
        plenty = factories.make_offer(
            factories.make_provider("Able Therapy"), service, capacity=100
        )
        scarce = factories.make_offer(factories.make_provider("Zed Counselling"), service)
        db.session.commit()
        jobs = []
        for _ in range(SCHOOLS):
            school = factories.make_school()
            user = factories.make_user(Role.SBM, school=school)
            db.session.commit()
            for offer, quantity in ((plenty, 2), (scarce, 1)):
                basket.add_line(
                    school_id=school.id,
                    offer_id=offer.id,
                    term_key=term_key(),
                    quantity=quantity,
                    actor=user,
                )
            shown = basket.school_basket(school.id, london_today())
            jobs.append(checkout_job(school.id, user.id, shown.fingerprint))
        # Every unit of the scarce offer but the last three has gone.
        db.session.execute(
            sa.update(OfferCapacity)
            .where(OfferCapacity.offer_id == scarce.id, OfferCapacity.term_key == term_key())
            .values(reserved=OfferCapacity.capacity - LAST_UNITS)
        )
        db.session.commit()
        plenty_id, scarce_id = plenty.id, scarce.id
        capacity = scarce.capacities[0].capacity

    results = race(live_app, jobs)

    outcomes = Counter(type(result).__name__ for result in results)
    assert outcomes == {"int": LAST_UNITS, "CheckoutRefused": SCHOOLS - LAST_UNITS}
    assert all(result == 2 for result in results if isinstance(result, int))
    refusals = [r for r in results if isinstance(r, CheckoutRefused)]
    assert all(
        len(r.problems) == 1 and "Zed Counselling has no days left" in r.problems[0]
        for r in refusals
    )
    with live_app.app_context():
        assert reserved(scarce_id) == capacity
        # The refused checkouts' reservations on the plentiful offer were rolled back.
        assert reserved(plenty_id) == 2 * LAST_UNITS
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Checkout)) == LAST_UNITS
        placed = db.session.scalar(
            sa.select(sa.func.count()).select_from(Order).where(Order.po_number == "PO-RACE")
        )
        assert placed == 2 * LAST_UNITS
        left = db.session.scalar(sa.select(sa.func.count()).select_from(BasketLine))
        assert left == 2 * (SCHOOLS - LAST_UNITS)


def test_five_clicks_on_checkout_order_the_basket_once(live_app):
    with live_app.app_context():
        service = factories.make_service()
        offer = factories.make_offer(factories.make_provider(), service, capacity=100)
        school = factories.make_school()
        user = factories.make_user(Role.SBM, school=school)
        db.session.commit()
        basket.add_line(
            school_id=school.id, offer_id=offer.id, term_key=term_key(), quantity=4, actor=user
        )
        shown = basket.school_basket(school.id, london_today())
        job = checkout_job(school.id, user.id, shown.fingerprint)
        offer_id, school_id = offer.id, school.id

    results = race(live_app, [job] * 5)

    assert sum(result == 1 for result in results) == 1
    refusals = [r for r in results if isinstance(r, BasketChanged)]
    assert len(refusals) == 4
    assert all("empty" in r.message for r in refusals)
    with live_app.app_context():
        assert reserved(offer_id) == 4
        orders = db.session.scalar(
            sa.select(sa.func.count()).select_from(Order).where(Order.school_id == school_id)
        )
        assert orders == 1
