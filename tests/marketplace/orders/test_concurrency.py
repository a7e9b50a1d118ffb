"""Capacity is never oversold: real threads, each with its own connection, really committing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import AuditEvent, Role, User
from marketplace.offers.models import OfferCapacity
from marketplace.orders import drafting
from marketplace.orders.errors import CapacityExhausted, OrderStateConflict
from marketplace.orders.models import Order, OrderStatus
from tests import factories
from tests.marketplace.conftest import term_key
from tests.support.concurrency import race, racing_app

SUBMITTERS = 50
LAST_UNITS = 10

pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def live_app(backend: str, module_database: str, tmp_path_factory: Any) -> Iterator[Flask]:
    """The app on a database of its own, with a connection for every thread."""
    with racing_app(
        backend, module_database, tmp_path_factory.mktemp("concurrency"), SUBMITTERS + 5
    ) as app:
        yield app


def submit_job(order_id: int, school_id: int, user_id: int) -> Callable[[], Any]:
    def job() -> Any:
        return drafting.submit(order_id, school_id, db.session.get(User, user_id)).status

    return job


def test_fifty_schools_racing_for_the_last_ten_units_get_exactly_ten(live_app):
    with live_app.app_context():
        world = factories.make_world()
        offer_id, actor_id = world.offer_a.id, world.sbm_a.id
        schools = [factories.make_school() for _ in range(SUBMITTERS)]
        db.session.commit()
        drafts = [
            drafting.create_draft(
                school_id=school.id,
                offer_id=offer_id,
                term_key=term_key(),
                quantity=1,
                po_number=f"PO-{school.id}",
                actor=world.sbm_a,
            )
            for school in schools
        ]
        jobs = [submit_job(order.id, order.school_id, actor_id) for order in drafts]
        # Everything but the last ten units has gone.
        db.session.execute(
            sa.update(OfferCapacity)
            .where(OfferCapacity.offer_id == offer_id, OfferCapacity.term_key == term_key())
            .values(reserved=OfferCapacity.capacity - LAST_UNITS)
        )
        db.session.commit()
        order_ids = [order.id for order in drafts]

    results = race(live_app, jobs)

    outcomes = Counter(type(result).__name__ for result in results)
    assert outcomes == {"OrderStatus": LAST_UNITS, "CapacityExhausted": SUBMITTERS - LAST_UNITS}
    refusals = [r for r in results if isinstance(r, CapacityExhausted)]
    assert all(
        "Capacity ran out: Alpha Counselling Ltd has no days left" in r.message for r in refusals
    )
    with live_app.app_context():
        capacity = db.session.scalar(
            sa.select(OfferCapacity).where(
                OfferCapacity.offer_id == offer_id, OfferCapacity.term_key == term_key()
            )
        )
        assert capacity.reserved == capacity.capacity
        statuses = Counter(
            db.session.scalars(sa.select(Order.status).where(Order.id.in_(order_ids)))
        )
        assert statuses == {
            OrderStatus.APPROVED: LAST_UNITS,
            OrderStatus.DRAFT: SUBMITTERS - LAST_UNITS,
        }
        submitted_events = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.entity_type == "order",
                AuditEvent.action == "submitted",
                AuditEvent.entity_id.in_([str(i) for i in order_ids]),
            )
        )
        assert submitted_events == LAST_UNITS


def test_ten_clicks_on_submit_for_one_order_reserve_it_once(live_app):
    with live_app.app_context():
        school = factories.make_school()
        provider = factories.make_provider()
        service = factories.make_service()
        offer = factories.make_offer(provider, service, capacity=100)
        user = factories.make_user(Role.SBM, school=school)
        db.session.commit()
        order = drafting.create_draft(
            school_id=school.id,
            offer_id=offer.id,
            term_key=term_key(),
            quantity=7,
            po_number="PO-CLICKS",
            actor=user,
        )
        job = submit_job(order.id, school.id, user.id)
        offer_id = offer.id

    results = race(live_app, [job] * 10)

    assert sum(result is OrderStatus.APPROVED for result in results) == 1
    conflicts = [r for r in results if isinstance(r, OrderStateConflict)]
    assert len(conflicts) == 9
    assert all("already been submitted" in r.message for r in conflicts)
    with live_app.app_context():
        assert (
            db.session.scalar(
                sa.select(OfferCapacity.reserved).where(
                    OfferCapacity.offer_id == offer_id, OfferCapacity.term_key == term_key()
                )
            )
            == 7
        )
