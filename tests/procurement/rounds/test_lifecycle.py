"""Opening a round, and cancelling it: what the committee may set up, and what it writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models import AuditEvent
from app.time import utcnow
from marketplace.offers.models import OfferStatus
from procurement.rounds.access import can_see_round
from procurement.rounds.errors import RoundError, RoundStateConflict
from procurement.rounds.lifecycle import cancel_round, create_round, open_round
from procurement.rounds.models import BuyingRound, RoundNotice, RoundStatus
from procurement.rounds.runs import queue_run
from tests.procurement.rounds.factories import (
    count,
    future_term,
    make_round_world,
    offer_for,
    pledge,
    round_input,
)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"offer_ids": []}, "offer_ids", "a round with no offers cannot be priced"),
        ({"title": "  "}, "title", "Enter a title"),
        ({"service_ids": []}, "service_ids", "at least one service"),
        ({"term_keys": []}, "term_keys", "at least one term"),
        ({"term_keys": ["2001-autumn"]}, "term_keys", "already over"),
        ({"pledge_deadline_at": None}, "deadline_on", "Enter the pledge deadline"),
        ({"max_share_percent": 0}, "max_share_percent", "between 1% and 100%"),
        ({"min_providers": 0}, "min_providers", "between 1 and 20"),
        ({"pledge_step": 0}, "pledge_step", "between 1 and 1000"),
        ({"pledge_step": 1001}, "pledge_step", "between 1 and 1000"),
        ({"pledge_step": None}, "pledge_step", "Enter the block schools pledge in"),
    ],
)
def test_a_round_with_bad_input_is_refused_with_a_clear_message_and_nothing_written(
    world, changes, field, message
):
    term = future_term()
    offer = offer_for(world.provider_a, world.service, term, tiers=[(0, 25_000)], capacity=10)
    db.session.commit()
    before = (count(BuyingRound), count(AuditEvent))
    with pytest.raises(RoundError, match=message) as refused:
        create_round(round_input(world, [offer], **changes), world.committee)
    assert refused.value.field == field
    assert (count(BuyingRound), count(AuditEvent)) == before


def test_the_deadline_must_be_in_the_future_and_before_the_first_term_starts(world):
    term = future_term()
    offer = offer_for(world.provider_a, world.service, term, tiers=[(0, 25_000)], capacity=10)
    db.session.commit()
    with pytest.raises(RoundError, match="must be in the future"):
        create_round(
            round_input(world, [offer], pledge_deadline_at=utcnow() - timedelta(minutes=1)),
            world.committee,
        )
    with pytest.raises(RoundError, match="before Spring .* starts"):
        create_round(
            round_input(world, [offer], pledge_deadline_at=utcnow() + timedelta(days=900)),
            world.committee,
        )


def test_offers_must_fit_the_round(world):
    term = future_term()
    mine = offer_for(world.provider_a, world.service, term, tiers=[(0, 25_000)], capacity=10)
    second = offer_for(world.provider_a, world.service, term, tiers=[(0, 24_000)], capacity=10)
    other_service = offer_for(
        world.provider_b, world.core_service, term, tiers=[(0, 9_000)], capacity=10
    )
    this_year_only = world.offer_b  # no capacity in next year's spring term
    withdrawn = offer_for(world.provider_b, world.service, term, tiers=[(0, 1)], capacity=10)
    withdrawn.status = OfferStatus.WITHDRAWN
    db.session.commit()
    cases = [
        ([mine, other_service], "which the round does not cover"),
        ([mine, second], "has two offers for School counselling: choose one"),
        ([this_year_only], "No offer you chose provides School counselling in Spring"),
        ([mine, withdrawn], "is not live"),
    ]
    for offers, message in cases:
        with pytest.raises(RoundError, match=message):
            create_round(round_input(world, offers), world.committee)
    assert count(BuyingRound) == 0


def test_opening_a_round_records_it_and_a_draft_opens_later(world):
    draft = make_round_world(world, open_now=False)
    buying_round = draft.buying_round
    assert buying_round.status is RoundStatus.DRAFT
    assert [ro.offer_id for ro in buying_round.offers] == [draft.offer_a.id, draft.offer_b.id]
    open_round(buying_round.id, world.committee)
    assert buying_round.status is RoundStatus.OPEN and buying_round.opened_at is not None
    with pytest.raises(RoundStateConflict):
        open_round(buying_round.id, world.committee)
    actions = [e.action for e in audit.events_in_scope(f"round:{buying_round.id}")]
    assert actions == ["created", "opened"]


def test_cancelling_stops_pledges_runs_and_awards_and_tells_the_pledging_schools(rw):
    pledge(rw, rw.world.sbm_a, 10)
    pledge(rw, rw.world.sbm_b, 4)
    pledge(rw, rw.world.sbm_b, 0)
    cancel_round(rw.buying_round.id, rw.world.committee)
    (notice,) = db.session.scalars(sa.select(RoundNotice))
    assert notice.school_id == rw.world.school_a.id and "cancelled" in notice.message
    assert can_see_round(rw.buying_round, rw.world.sbm_a)  # it was announced
    with pytest.raises(RoundStateConflict, match="cancelled"):
        queue_run(rw.buying_round.id, rw.world.committee, now=utcnow() + timedelta(days=30))
    with pytest.raises(RoundStateConflict):
        cancel_round(rw.buying_round.id, rw.world.committee)


def test_the_scheduler_closes_pledging_once_the_deadline_has_passed(rw):
    from procurement.rounds.lifecycle import close_rounds_past_deadline
    from procurement.rounds.tasks import close_rounds_past_their_deadline

    buying_round = rw.buying_round
    deadline = buying_round.pledge_deadline_at
    draft = make_round_world(rw.world, open_now=False).buying_round

    assert close_rounds_past_deadline(deadline - timedelta(seconds=1)) == 0
    assert buying_round.status is RoundStatus.OPEN

    assert close_rounds_past_deadline(deadline + timedelta(seconds=30)) == 1
    db.session.expire_all()
    assert buying_round.status is RoundStatus.CLOSED
    assert buying_round.closed_at == deadline + timedelta(seconds=30)
    assert draft.status is RoundStatus.DRAFT  # only open rounds close
    events = audit.events_in_scope(f"round:{buying_round.id}")
    assert events[-1].action == "pledging closed at the deadline"
    assert events[-1].actor_id is None
    # The periodic task (what the consumer runs every minute) finds nothing more to close.
    close_rounds_past_their_deadline()
    assert [e.action for e in audit.events_in_scope(f"round:{buying_round.id}")].count(
        "pledging closed at the deadline"
    ) == 1
