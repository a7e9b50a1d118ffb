"""Rated once, even when a school's two people (or two clicks) rate an order at the same
moment, and replied to once when the provider's people reply at once: real threads, each
with its own PostgreSQL connection, really committing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Role, User
from marketplace.ratings import services
from marketplace.ratings.models import Rating
from tests import factories
from tests.marketplace.billing.conftest import make_order
from tests.support.concurrency import race, racing_app

RATERS = 8

pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def live_app(backend: str, module_database: str, tmp_path_factory: Any) -> Iterator[Flask]:
    with racing_app(
        backend, module_database, tmp_path_factory.mktemp("ratings"), RATERS + 3
    ) as app:
        yield app


def test_racing_ratings_and_replies_of_one_order_are_kept_once(live_app):
    with live_app.app_context():
        world = factories.make_world()
        people = [factories.make_user(Role.SBM, school=world.school_a) for _ in range(RATERS)]
        repliers = [
            factories.make_user(Role.PROVIDER, provider=world.provider_a) for _ in range(RATERS)
        ]
        order = make_order(world.school_a, world.offer_a)
        db.session.commit()
        order_id, school_id, provider_id = order.id, world.school_a.id, world.provider_a.id
        people_ids = [p.id for p in people]
        replier_ids = [p.id for p in repliers]

    def rate_as(user_id: int, score: int):
        def job() -> Any:
            entry = services.RatingInput(score, score, score)
            return services.rate_order(order_id, school_id, entry, db.session.get(User, user_id))

        return job

    results = race(live_app, [rate_as(u, 1 + n % 5) for n, u in enumerate(people_ids)])
    assert Counter(type(r).__name__ for r in results) == {"Rating": 1, "AlreadyRated": RATERS - 1}
    with live_app.app_context():
        rating_id = db.session.scalar(sa.select(Rating.id).where(Rating.order_id == order_id))

    def reply_as(user_id: int):
        def job() -> Any:
            user = db.session.get(User, user_id)
            return services.reply(rating_id, provider_id, f"Reply from {user_id}", user)

        return job

    replies = race(live_app, [reply_as(u) for u in replier_ids])
    assert Counter(type(r).__name__ for r in replies) == {"Rating": 1, "AlreadyReplied": RATERS - 1}
    with live_app.app_context():
        rating = db.session.get(Rating, rating_id)
        assert rating.replied_by_id in replier_ids
        assert rating.reply == f"Reply from {rating.replied_by_id}"
