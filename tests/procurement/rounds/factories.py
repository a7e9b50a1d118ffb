"""Test data for buying rounds: offers for a future term, a round on them, pledging schools."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.calendar import Term, TermName
from app.extensions import db
from app.models import Role, School, User
from app.time import utcnow
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer, OfferCapacity
from procurement.rounds.approvals import approve_pledges, awaiting
from procurement.rounds.lifecycle import RoundInput, close_pledging, create_round
from procurement.rounds.models import BuyingRound
from procurement.rounds.pledges import save_pledges
from procurement.rounds.runs import execute_run, queue_run
from tests.factories import World, make_offer, make_school, make_user, this_year


def future_term() -> Term:
    """Spring of next academic year: always months away, whatever today is."""
    return Term(this_year().start_year + 1, TermName.SPRING)


def offer_for(
    world_or_provider, service: Service, term: Term, *, tiers, capacity: int, **values
) -> Offer:
    """A live offer that runs in `term` with `capacity` units there."""
    offer = make_offer(
        world_or_provider, service, tiers=tiers, capacity=capacity, valid_to=term.ends_on, **values
    )
    offer.capacities.append(OfferCapacity(term_key=term.key, capacity=capacity))
    db.session.flush()
    return offer


@dataclass
class RoundWorld:
    world: World
    term: Term
    offer_a: Offer  # Alpha Counselling: £250 a day, £230 from 20 days; 100 days
    offer_b: Offer  # Beta Therapy: £270 a day, £210 from 50 days; 80 days
    buying_round: BuyingRound
    now: datetime


def make_round_world(world: World, **rules) -> RoundWorld:
    """An open round on the world's counselling service for the future term, two offers."""
    term = future_term()
    offer_a = offer_for(
        world.provider_a, world.service, term, tiers=[(0, 25_000), (20, 23_000)], capacity=100
    )
    offer_b = offer_for(
        world.provider_b, world.service, term, tiers=[(0, 27_000), (50, 21_000)], capacity=80
    )
    now = utcnow()
    buying_round = create_round(
        RoundInput(
            title="Counselling next spring",
            description="",
            service_ids=[world.service.id],
            term_keys=[term.key],
            offer_ids=[offer_a.id, offer_b.id],
            pledge_deadline_at=now + timedelta(days=7),
            max_share_percent=rules.get("max_share_percent", 100),
            min_providers=rules.get("min_providers", 1),
            single_source=rules.get("single_source", False),
            open_now=rules.get("open_now", True),
            pledge_step=rules.get("pledge_step", 1),
        ),
        world.committee,
        now,
    )
    return RoundWorld(world, term, offer_a, offer_b, buying_round, now)


def lot_of(rw: RoundWorld) -> tuple[int, str]:
    return (rw.world.service.id, rw.term.key)


def pledge(
    rw: RoundWorld,
    sbm: User,
    quantity: int | None,
    now: datetime | None = None,
    *,
    approve: bool = True,
    po_number: str | None = None,
):
    """The SBM pledges for their school in the round's one lot; over the school's approval
    threshold, its head approves it too (unless `approve` is False)."""
    changes = save_pledges(
        rw.buying_round.id,
        sbm.school_id,
        {lot_of(rw): quantity},
        sbm,
        now or rw.now,
        po_number=po_number,
    )
    if approve and awaiting(rw.buying_round.id, sbm.school_id):
        approve_pledges(rw.buying_round.id, sbm.school_id, head_of(sbm.school_id), now or rw.now)
    return changes


def head_of(school_id: int) -> User:
    """The school's head (budget holder), made if the school has none yet."""
    head = db.session.scalar(
        sa.select(User).where(User.school_id == school_id, User.role == Role.HEAD)
    )
    if head is None:
        school = db.session.get(School, school_id)
        head = make_user(Role.HEAD, school=school)
    return head


def pledging_schools(rw: RoundWorld, quantities: list[int]) -> list[tuple[School, User]]:
    """New schools, each with an SBM who pledges the given quantity."""
    made = []
    for quantity in quantities:
        school = make_school()
        sbm = make_user(Role.SBM, school=school)
        pledge(rw, sbm, quantity)
        made.append((school, sbm))
    return made


def close(rw: RoundWorld) -> datetime:
    """Close pledging now (the deadline becomes now); returns an instant after it."""
    close_pledging(rw.buying_round.id, rw.world.committee, utcnow())
    return utcnow()


def round_input(world, offers, **changes):
    values = {
        "title": "Counselling",
        "description": "",
        "service_ids": [world.service.id],
        "term_keys": [future_term().key],
        "offer_ids": [o.id for o in offers],
        "pledge_deadline_at": utcnow() + timedelta(days=7),
        "max_share_percent": 100,
        "min_providers": 1,
        "single_source": False,
        "open_now": True,
    }
    values.update(changes)
    return RoundInput(**values)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def reserved(offer, term) -> int:
    return db.session.scalar(
        sa.select(OfferCapacity.reserved).where(
            OfferCapacity.offer_id == offer.id, OfferCapacity.term_key == term.key
        )
    )


def run_now(rw, **kwargs):
    """Queue a run after the deadline and solve it here."""
    run = queue_run(rw.buying_round.id, rw.world.committee, **kwargs)
    return execute_run(run.id)
