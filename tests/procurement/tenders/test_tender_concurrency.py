"""Races on PostgreSQL: real threads, each with its own connection, really committing.

The tender row is locked (SELECT … FOR UPDATE) by every use case that changes a tender, so two
committee members confirming at the same instant still open the bids exactly once, and a
double-clicked bid is one bid.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import AuditEvent, User
from procurement.tenders import bids as bid_service
from procurement.tenders import opening
from procurement.tenders.models import Tender, TenderBid, TenderOpeningConfirmation, TenderStatus
from tests import factories
from tests.procurement.tenders.factories import bid_input, make_tender, submit_both_bids
from tests.support.concurrency import race, racing_app

pytestmark = pytest.mark.postgres_only
ROUNDS = 5


@pytest.fixture(scope="module")
def live_app(backend: str, module_database: str, tmp_path_factory: Any) -> Iterator[Flask]:
    """The app on a database of its own, with a connection for every thread."""
    with racing_app(backend, module_database, tmp_path_factory.mktemp("tender-races"), 10) as app:
        yield app


@pytest.fixture(scope="module")
def world_ids(live_app: Flask) -> factories.World:
    """One committed world for the module (its names are unique in the database)."""
    with live_app.app_context():
        world = factories.make_world()
        db.session.commit()
        db.session.expunge_all()
        return world


def test_two_members_confirming_at_once_open_the_bids_exactly_once(live_app, world_ids):
    after_deadline = datetime(2026, 3, 16, 13, 0, tzinfo=UTC)
    with live_app.app_context():
        world = _reload(world_ids)
        cases = []
        for _ in range(ROUNDS):
            tw = make_tender(world)
            submit_both_bids(tw)
            cases.append((tw.tender.id, world.committee.id, tw.committee2.id))
        db.session.commit()

    for tender_id, first, second in cases:

        def confirm(user_id: int, tender_id: int = tender_id) -> Any:
            user = db.session.get(User, user_id)
            return opening.confirm_opening(tender_id, user, now=after_deadline).status

        results = race(live_app, [lambda u=first: confirm(u), lambda u=second: confirm(u)])
        assert not [r for r in results if isinstance(r, Exception)], results

    with live_app.app_context():
        for tender_id, *_ in cases:
            tender = db.session.get(Tender, tender_id)
            assert tender.status is TenderStatus.OPENED
            confirmations = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(TenderOpeningConfirmation)
                .where(TenderOpeningConfirmation.tender_id == tender_id)
            )
            assert confirmations == 2
            opened = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.scope == f"tender:{tender_id}", AuditEvent.action == "bids opened"
                )
            )
            assert opened == 1


def test_a_double_clicked_bid_is_one_bid(live_app, world_ids):
    with live_app.app_context():
        world = _reload(world_ids)
        tw = make_tender(world)
        data = bid_input(tw)
        tender_id, lot_id, user_id = tw.tender.id, tw.lot.id, world.provider_user_a.id

    def send(minute: int) -> Any:
        user = db.session.get(User, user_id)
        sent = datetime(2026, 3, 5, 10, minute, tzinfo=UTC)
        return bid_service.submit_bid(tender_id, lot_id, user, data, now=sent).id

    results = race(live_app, [lambda m=minute: send(m) for minute in (0, 1, 2)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    with live_app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count()).select_from(TenderBid).where(TenderBid.lot_id == lot_id)
        )
        assert count == 1
        assert db.session.get(TenderBid, results[0]).submitted_at - datetime(
            2026, 3, 5, 10, 0, tzinfo=UTC
        ) <= timedelta(minutes=2)


def _reload(world: factories.World) -> factories.World:
    """The module's world, attached to this app context's session."""
    return factories.World(
        **{name: db.session.merge(value, load=True) for name, value in vars(world).items()}
    )
