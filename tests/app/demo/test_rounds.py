"""The demo buying round: open with other schools' pledges in, seeded once."""

from __future__ import annotations

import sqlalchemy as sa

from app.demo.activity import COMPARED_ROUND_TITLE, ROUND_TITLE, seed_compared_round
from app.demo.rounds import DEMO_ROUND_TITLE, seed_demo_round
from app.extensions import db
from app.time import utcnow
from procurement.rounds.comparison import compare_runs, default_pair
from procurement.rounds.estimates import indicative
from procurement.rounds.models import BuyingRound, Pledge, RoundStatus
from procurement.rounds.pledges import pledge_totals


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_demo_round_is_open_with_pledges_and_seeding_again_adds_nothing(runner):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    (demo,) = db.session.scalars(
        sa.select(BuyingRound).where(BuyingRound.title == DEMO_ROUND_TITLE)
    )
    assert demo.status is RoundStatus.OPEN and demo.pledge_deadline_at > utcnow()
    estimate = indicative(demo, pool=pledge_totals(demo))
    assert estimate is not None and estimate.pool[0].schools >= 10
    assert estimate.answer.awards
    assert seed_demo_round() == 0
    # Pledges in each state: approved with the school's PO, waiting for the head, no PO yet.
    pledges = list(db.session.scalars(sa.select(Pledge).where(Pledge.round_id == demo.id)))
    assert any(p.approved and p.po_number for p in pledges)
    assert any(not p.approved and p.estimated_pence > 0 for p in pledges)
    assert any(p.approved and not p.po_number for p in pledges)
    # Beside it, the demo's past round (app.demo.activity), awarded before this term, and a
    # round run twice under different rules, for the committee to compare the runs.
    assert count(BuyingRound) == 3
    past = db.session.scalar(sa.select(BuyingRound).where(BuyingRound.title == ROUND_TITLE))
    assert past.status is RoundStatus.AWARDED
    compared = db.session.scalar(
        sa.select(BuyingRound).where(BuyingRound.title == COMPARED_ROUND_TITLE)
    )
    assert compared.status is RoundStatus.RUN
    a, b = default_pair(compared.id)
    comparison = compare_runs(compared.id, a, b)
    assert (comparison.a.single_source, comparison.b.single_source) == (False, True)
    assert comparison.figures[0].change.difference > 0  # the rules cost something
    assert seed_compared_round(compared.created_by, utcnow().date()) == 0
