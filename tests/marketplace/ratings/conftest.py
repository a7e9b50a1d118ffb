"""Ratings fixtures: delivered orders of both schools, and a quick way to rate one."""

from __future__ import annotations

from marketplace.orders.models import Order
from marketplace.ratings import services
from marketplace.ratings.models import Rating
from tests import factories
from tests.marketplace.billing.conftest import make_order
from tests.marketplace.supply.conftest import supply  # noqa: F401  (the fixture, here too)


def delivered(world: factories.World, school=None, offer=None, **kwargs) -> Order:
    """A delivered (and accepted) order of school A for offer A unless told otherwise."""
    return make_order(school or world.school_a, offer or world.offer_a, **kwargs)


def rate(
    world: factories.World, order: Order, scores=(4, 4, 4), comment: str = "", user=None
) -> Rating:
    """Rate the order as its school's business manager (or `user`)."""
    actor = user or (world.sbm_a if order.school_id == world.school_a.id else world.sbm_b)
    return services.rate_order(
        order.id, order.school_id, services.RatingInput(*scores, comment=comment), actor
    )
