"""Payments-out fixtures: delivered work owed to both providers, committed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from app.extensions import db
from app.time import london_today
from marketplace.orders.models import Order
from marketplace.payouts import services
from tests import factories
from tests.marketplace.billing.conftest import make_order

# Three orders delivered in different months: provider A is owed for all, B for one.
AWKWARD = (3, 8_333)  # 3 days at £83.33, so the fee rounds


@dataclass
class Owed:
    world: factories.World
    september: Order  # provider A, delivered 15 September: due 30 October
    october: Order  # provider A, delivered 3 October: due 30 November
    today_order: Order  # provider A, delivered today
    b_order: Order  # provider B, delivered 3 October


def _delivered(order: Order, day: date) -> Order:
    order.delivered_at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=12
    )
    return order


@pytest.fixture
def owed(world: factories.World) -> Owed:
    year = london_today().year - 1
    september = _delivered(
        make_order(world.school_a, world.offer_a, 4, po_number="PO-SEP"), date(year, 9, 15)
    )
    october = _delivered(
        make_order(world.school_b, world.offer_a, *AWKWARD[:1], unit_price_pence=AWKWARD[1]),
        date(year, 10, 3),
    )
    today_order = make_order(world.school_a, world.offer_a, 2)
    b_order = _delivered(make_order(world.school_a, world.offer_b, 1), date(year, 10, 3))
    db.session.commit()
    return Owed(world, september, october, today_order, b_order)


def pay(world, provider, pence: int, reference: str, paid_on: date | None = None):
    return services.record_payment(
        services.PaymentInput(provider.id, paid_on or london_today(), pence, reference),
        world.admin,
    )
