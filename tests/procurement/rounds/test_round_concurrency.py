"""Rounds under concurrency: one award however many press the button, no pledge after closing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import AuditEvent, Provider, Role, School, User
from app.time import utcnow
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer, OfferCapacity
from marketplace.orders.models import Order
from procurement.contracts.models import Contract
from procurement.rounds.award import AwardSummary, award_run
from procurement.rounds.errors import PledgingClosed, RoundStateConflict
from procurement.rounds.lifecycle import close_pledging
from procurement.rounds.models import Pledge, RoundNotice
from procurement.rounds.pledges import PledgeChanges, save_pledges
from procurement.rounds.runs import execute_run, queue_run
from tests import factories
from tests.procurement.rounds.factories import close, lot_of, make_round_world, pledge
from tests.support.concurrency import race, racing_app

pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def live_app(backend: str, module_database: str, tmp_path_factory: Any) -> Iterator[Flask]:
    """The app on a database of its own, with a connection for every thread."""
    with racing_app(
        backend, module_database, tmp_path_factory.mktemp("round-concurrency"), 25
    ) as app:
        yield app


@pytest.fixture(scope="module")
def world_ids(live_app: Flask) -> dict[str, int]:
    """One world for the module (its names are unique in the database): ids to reload it by."""
    with live_app.app_context():
        world = factories.make_world()
        db.session.commit()
        return {f.name: getattr(world, f.name).id for f in fields(factories.World)}


def load_world(ids: dict[str, int]) -> factories.World:
    models = {"school": School, "provider": Provider, "service": Service, "offer": Offer}
    values = {}
    for name, row_id in ids.items():
        model = next((m for prefix, m in models.items() if name.startswith(prefix)), None)
        if name == "core_service":
            model = Service
        values[name] = db.session.get(model or User, row_id)
    return factories.World(**values)


def test_five_committee_members_awarding_at_once_award_the_round_once(live_app, world_ids):
    with live_app.app_context():
        world = load_world(world_ids)
        rw = make_round_world(world)
        pledge(rw, world.sbm_a, 10)
        pledge(rw, world.sbm_b, 45)
        close(rw)
        run = execute_run(queue_run(rw.buying_round.id, world.committee).id)
        round_id, run_id, committee_id = rw.buying_round.id, run.id, world.committee.id
        offer_b, term_key = rw.offer_b.id, rw.term.key

    def award() -> Any:
        return award_run(round_id, run_id, db.session.get(User, committee_id))

    results = race(live_app, [award] * 5, timeout=120)
    won = [r for r in results if isinstance(r, AwardSummary)]
    refused = [r for r in results if isinstance(r, RoundStateConflict)]
    assert len(won) == 1 and len(refused) == 4, results
    with live_app.app_context():
        contracts = sa.select(sa.func.count()).select_from(Contract)
        assert db.session.scalar(contracts.where(Contract.source_id == round_id)) == 1
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Order)
                .join(Contract)
                .where(Contract.source_id == round_id)
            )
            == 2
        )
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(RoundNotice)
                .where(RoundNotice.round_id == round_id)
            )
            == 2
        )
        assert (
            db.session.scalar(
                sa.select(OfferCapacity.reserved).where(
                    OfferCapacity.offer_id == offer_b, OfferCapacity.term_key == term_key
                )
            )
            == 55
        )


def test_pledges_racing_the_close_are_either_in_the_run_or_refused(live_app, world_ids):
    with live_app.app_context():
        world = load_world(world_ids)
        rw = make_round_world(world)
        sbms = [factories.make_user(Role.SBM, school=factories.make_school()) for _ in range(12)]
        db.session.commit()
        round_id, lot = rw.buying_round.id, lot_of(rw)
        pledgers = [(u.id, u.school_id) for u in sbms]
        committee_id = world.committee.id

    def pledge_job(user_id: int, school_id: int) -> Callable[[], Any]:
        def job() -> Any:
            user = db.session.get(User, user_id)
            return save_pledges(round_id, school_id, {lot: 5}, user, utcnow())

        return job

    def close_job() -> Any:
        return close_pledging(round_id, db.session.get(User, committee_id), utcnow())

    jobs = [pledge_job(*p) for p in pledgers]
    jobs.insert(6, close_job)
    results = race(live_app, jobs, timeout=120)
    accepted = [r for r in results if isinstance(r, PledgeChanges)]
    refused = [r for r in results if isinstance(r, PledgingClosed)]
    assert len(accepted) + len(refused) == 12, results
    with live_app.app_context():
        assert db.session.scalar(
            sa.select(sa.func.count()).select_from(Pledge).where(Pledge.round_id == round_id)
        ) == len(accepted)
        # Every accepted pledge was written before the close: none slipped in after it.
        events = list(
            db.session.execute(
                sa.select(AuditEvent.action, AuditEvent.id).where(
                    AuditEvent.scope == f"round:{round_id}"
                )
            )
        )
        closed_at = next(i for action, i in events if action == "pledging closed")
        assert all(i < closed_at for action, i in events if action == "pledged")
        committee = db.session.get(User, committee_id)
        if not accepted:  # the close won every race (a busy machine): nothing to run
            with pytest.raises(RoundStateConflict):
                queue_run(round_id, committee)
            return
        run = queue_run(round_id, committee)
        assert sum(d["quantity"] for d in run.inputs["demand"]) == 5 * len(accepted)
