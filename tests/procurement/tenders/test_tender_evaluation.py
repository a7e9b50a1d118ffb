"""Evaluation: declarations first, conflicted evaluators kept out, moderation, ranking, award,
multi-sourced lots, and each bidder's own assessment summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.models import Role
from procurement.tenders import award, opening
from procurement.tenders import bids as bid_service
from procurement.tenders import evaluation as evaluation_service
from procurement.tenders.errors import ConflictOfInterest, TenderError, TenderStateConflict
from procurement.tenders.models import Criterion, TenderStatus
from tests import factories
from tests.procurement.tenders.factories import (
    AFTER_DEADLINE,
    T0,
    bid_input,
    evaluate,
    make_tender,
    open_bids,
    submit_both_bids,
)

LATER = AFTER_DEADLINE + timedelta(days=1)


def _in_evaluation(world, **kwargs):
    tw = make_tender(world, **kwargs)
    bid_a, bid_b = submit_both_bids(tw)
    open_bids(tw)
    opening.start_evaluation(tw.tender.id, world.committee, now=LATER)
    return tw, bid_a, bid_b


def test_an_evaluator_must_declare_before_scoring(world):
    tw, bid_a, _ = _in_evaluation(world)
    with pytest.raises(ConflictOfInterest, match="Declare your interests for lot 1"):
        evaluation_service.score_bid(
            tw.tender.id,
            bid_a.id,
            world.committee,
            {Criterion.QUALITY: 50, Criterion.SOCIAL_VALUE: 50},
            {},
            now=LATER,
        )


def test_a_conflicted_evaluator_cannot_score_or_moderate_the_lot(world):
    tw, bid_a, bid_b = _in_evaluation(world)
    evaluation_service.declare_interests(
        tw.tender.id, tw.lot.id, world.committee, True, "I chair Alpha's board", now=LATER
    )
    with pytest.raises(ConflictOfInterest, match="declared a conflict"):
        evaluation_service.score_bid(
            tw.tender.id,
            bid_a.id,
            world.committee,
            {Criterion.QUALITY: 90, Criterion.SOCIAL_VALUE: 90},
            {},
            now=LATER,
        )
    with pytest.raises(ConflictOfInterest):
        evaluation_service.moderate_lot(tw.tender.id, tw.lot.id, world.committee, {}, now=LATER)
    with pytest.raises(ConflictOfInterest):
        bid_service.bid_for_viewer(tw.tender, bid_b.id, world.committee)
    assert evaluation_service.scores_for_lot(tw.lot) == []


def test_a_declaration_is_made_once_and_a_conflict_needs_details(world):
    tw, *_ = _in_evaluation(world)
    with pytest.raises(TenderError, match="Describe the conflict"):
        evaluation_service.declare_interests(
            tw.tender.id, tw.lot.id, world.committee, True, "", now=LATER
        )
    evaluation_service.declare_interests(
        tw.tender.id, tw.lot.id, world.committee, False, "", now=LATER
    )
    with pytest.raises(TenderStateConflict, match="already declared"):
        evaluation_service.declare_interests(
            tw.tender.id, tw.lot.id, world.committee, True, "Oops", now=LATER
        )


def test_interests_cannot_be_declared_before_the_bids_are_opened(world):
    tw = make_tender(world)
    submit_both_bids(tw)
    with pytest.raises(TenderStateConflict):
        evaluation_service.declare_interests(
            tw.tender.id, tw.lot.id, world.committee, False, "", now=AFTER_DEADLINE
        )


def test_moderation_needs_every_bid_scored(world):
    tw, bid_a, bid_b = _in_evaluation(world)
    evaluation_service.declare_interests(
        tw.tender.id, tw.lot.id, world.committee, False, "", now=LATER
    )
    evaluation_service.score_bid(
        tw.tender.id,
        bid_a.id,
        world.committee,
        {Criterion.QUALITY: 60, Criterion.SOCIAL_VALUE: 60},
        {},
        now=LATER,
    )
    with pytest.raises(TenderError, match="no quality score yet"):
        evaluation_service.moderate_lot(
            tw.tender.id,
            tw.lot.id,
            world.committee,
            {b.id: {Criterion.QUALITY: 50, Criterion.SOCIAL_VALUE: 50} for b in (bid_a, bid_b)},
            now=LATER,
        )
    assert tw.lot.moderated_at is None


def test_moderation_starts_from_the_evaluators_mean(world):
    tw, bid_a, bid_b = _in_evaluation(world)
    for evaluator, quality in ((world.committee, 70), (tw.committee2, 75)):
        evaluation_service.declare_interests(
            tw.tender.id, tw.lot.id, evaluator, False, "", now=LATER
        )
        for bid in (bid_a, bid_b):
            evaluation_service.score_bid(
                tw.tender.id,
                bid.id,
                evaluator,
                {Criterion.QUALITY: quality, Criterion.SOCIAL_VALUE: 40},
                {},
                now=LATER,
            )
    rows = {row.bid.id: row for row in evaluation_service.moderation_rows(tw.tender, tw.lot)}
    assert rows[bid_a.id].suggested == {Criterion.QUALITY: 73, Criterion.SOCIAL_VALUE: 40}
    assert [s.score for s in rows[bid_a.id].scores[Criterion.QUALITY]] == [70, 75]


def test_an_evaluator_can_revise_their_own_score(world):
    tw, bid_a, _ = _in_evaluation(world)
    evaluation_service.declare_interests(
        tw.tender.id, tw.lot.id, world.committee, False, "", now=LATER
    )
    for quality in (40, 65):
        evaluation_service.score_bid(
            tw.tender.id,
            bid_a.id,
            world.committee,
            {Criterion.QUALITY: quality, Criterion.SOCIAL_VALUE: 50},
            {},
            now=LATER,
        )
    scores = [
        s for s in evaluation_service.scores_for_lot(tw.lot) if s.criterion is Criterion.QUALITY
    ]
    assert [s.score for s in scores] == [65]


def test_equal_scores_go_to_the_bid_received_first(world):
    tw = make_tender(world)
    same = ((0, 20_000),)
    later = bid_service.submit_bid(
        tw.tender.id,
        tw.lot.id,
        world.provider_user_b,
        bid_input(tw, tiers=same),
        now=T0 + timedelta(days=2),
    )
    earlier = bid_service.submit_bid(
        tw.tender.id,
        tw.lot.id,
        world.provider_user_a,
        bid_input(tw, tiers=same),
        now=T0 + timedelta(days=1),
    )
    assert later.id < earlier.id  # the lower bid number does not decide it
    open_bids(tw)
    evaluate(tw, {earlier.id: (50, 50), later.id: (50, 50)})
    ranked = evaluation_service.ranking(tw.tender, tw.lot)
    assert ranked[0].total == ranked[1].total
    assert [r.bid_id for r in ranked] == [earlier.id, later.id]
    award.decide_award(tw.tender.id, world.committee, now=LATER + timedelta(days=1))
    assert earlier.awarded and not later.awarded


def test_a_multi_sourced_lot_is_awarded_to_the_best_bids_up_to_its_limit(world):
    tw = make_tender(world, max_suppliers=2)
    third = factories.make_user(Role.PROVIDER, provider=factories.make_provider("Gamma Care Ltd"))
    bid_a, bid_b = submit_both_bids(tw)
    bid_c = bid_service.submit_bid(
        tw.tender.id,
        tw.lot.id,
        third,
        bid_input(tw, tiers=((0, 30_000),), capacity=100),
        now=T0 + timedelta(days=2),
    )
    open_bids(tw)
    evaluate(tw, {bid_a.id: (50, 50), bid_b.id: (50, 50), bid_c.id: (50, 50)})
    award.decide_award(tw.tender.id, world.committee, now=LATER + timedelta(days=1))
    assert [bid_a.awarded, bid_b.awarded, bid_c.awarded] == [True, True, False]
    assert (bid_a.rank, bid_b.rank, bid_c.rank) == (1, 2, 3)
    contracts = award.enter_into_contracts(
        tw.tender.id, world.committee, now=LATER + timedelta(days=20)
    )
    assert {c.provider_id for c in contracts} == {world.provider_a.id, world.provider_b.id}


def test_the_award_waits_for_every_lot_to_be_moderated(world):
    tw, *_ = _in_evaluation(world)
    with pytest.raises(TenderError, match="Moderate the scores of every lot first"):
        award.decide_award(tw.tender.id, world.committee, now=LATER)
    assert tw.tender.status is TenderStatus.EVALUATION


def test_each_bidder_gets_its_own_assessment_summary(client, auth, world):
    now = datetime.now(UTC)
    tw = make_tender(world, now=now - timedelta(days=30), deadline_at=now - timedelta(days=10))
    bid_a, bid_b = submit_both_bids(tw, now=now - timedelta(days=20))
    open_bids(tw, now=now - timedelta(days=9))
    evaluate(tw, {bid_a.id: (70, 60), bid_b.id: (80, 90)}, now=now - timedelta(days=8))
    award.decide_award(tw.tender.id, world.committee, now=now - timedelta(days=7))

    auth.as_user(world.provider_user_b)
    own = client.get(f"/tenders/{tw.tender.id}/bids/{bid_b.id}/assessment")
    body = own.get_data(as_text=True)
    assert own.status_code == 200
    assert "not successful" in body and "ranked 2 of 2" in body
    assert "Successful bid: " + world.provider_a.name in body
    assert "246.89" in body or "98,756" in body  # its own figures
    assert "219.83" not in body and "87,932" not in body and "234.57" not in body  # not A's
    assert client.get(f"/tenders/{tw.tender.id}/bids/{bid_a.id}/assessment").status_code == 404

    auth.logout()
    auth.as_user(world.provider_user_a)
    body = client.get(f"/tenders/{tw.tender.id}/bids/{bid_a.id}/assessment").get_data(as_text=True)
    assert "successful" in body and "ranked 1 of 2" in body
    assert "98,756" not in body and "246.89" not in body
