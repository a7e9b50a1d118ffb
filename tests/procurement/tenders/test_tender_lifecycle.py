"""A tender from draft to complete, on the server's clock: every stage, and what each writes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import audit
from app.extensions import db
from procurement.contracts.models import Contract, ContractSource, ContractStatus
from procurement.tenders import award, drafting, opening, publication, reading
from procurement.tenders import bids as bid_service
from procurement.tenders.errors import OpeningRefused, TenderError, TenderStateConflict
from procurement.tenders.models import (
    BidStatus,
    TenderBid,
    TenderNotification,
    TenderOpeningConfirmation,
    TenderStage,
    TenderStatus,
)
from tests.procurement.tenders.factories import (
    AFTER_DEADLINE,
    BEFORE_DEADLINE,
    DEADLINE,
    T0,
    evaluate,
    make_tender,
    open_bids,
    submit_both_bids,
)


def test_a_tender_runs_from_draft_to_complete(world):
    tw = make_tender(world, publish=False)
    tender = tw.tender
    assert tender.stage(T0) is TenderStage.DRAFT

    publication.publish_tender(tender.id, tw.committee, now=T0)
    assert tender.stage(T0) is TenderStage.OPEN
    assert tender.published_at == T0

    bid_a, bid_b = submit_both_bids(tw)
    assert tender.stage(BEFORE_DEADLINE) is TenderStage.OPEN
    # Closed is derived from the deadline: nothing is written when it passes.
    assert tender.stage(DEADLINE) is TenderStage.CLOSED
    assert tender.status is TenderStatus.OPEN

    open_bids(tw)
    assert tender.status is TenderStatus.OPENED
    assert tender.opened_at == AFTER_DEADLINE + timedelta(minutes=5)

    evaluate(tw, {bid_a.id: (70, 60), bid_b.id: (80, 90)})
    assert tender.status is TenderStatus.EVALUATION

    decided_at = AFTER_DEADLINE + timedelta(days=2)  # Weds 18 March 2026
    award.decide_award(tender.id, tw.committee, now=decided_at)
    assert tender.status is TenderStatus.STANDSTILL
    assert tender.standstill_ends_on == date(2026, 3, 30)  # 8 working days after the 18th
    assert bid_a.awarded and bid_a.rank == 1
    assert not bid_b.awarded and bid_b.rank == 2

    contracts = award.enter_into_contracts(
        tender.id, tw.committee, now=datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
    )
    assert tender.status is TenderStatus.CONTRACTED
    assert len(contracts) == 1
    contract = db.session.get(Contract, contracts[0].id)
    assert contract.source is ContractSource.TENDER and contract.source_id == tender.id
    assert contract.status is ContractStatus.ACTIVE
    assert contract.provider_id == world.provider_a.id
    assert contract.service_id == world.service.id
    assert contract.capacity == bid_a.capacity
    assert [(t.min_quantity, t.unit_price_pence) for t in contract.tiers] == [
        (t.min_quantity, t.unit_price_pence) for t in bid_a.tiers
    ]
    assert {s.school_id for s in contract.schools} == {world.school_a.id, world.school_b.id}
    assert (contract.starts_on, contract.ends_on) == (date(2026, 4, 20), date(2028, 4, 19))

    award.complete_tender(tender.id, tw.committee, now=datetime(2026, 4, 1, tzinfo=UTC))
    assert tender.status is TenderStatus.COMPLETE

    actions = [e.action for e in audit.events_in_scope(f"tender:{tender.id}")]
    for action in (
        "created",
        "published",
        "bid submitted",
        "opening confirmed",
        "bids opened",
        "evaluation started",
        "no conflict declared",
        "scored",
        "scores moderated",
        "award decided",
        "contract entered into",
        "contracted",
        "completed",
    ):
        assert action in actions


def test_each_state_change_is_audited_at_the_use_cases_clock(world):
    tw = make_tender(world)
    events = audit.events_in_scope(f"tender:{tw.tender.id}")
    published = [e for e in events if e.action == "published"]
    assert len(published) == 1
    assert published[0].at == T0
    assert published[0].actor_id == world.committee.id
    assert published[0].before["status"] == "draft"
    assert published[0].after["status"] == "open"


def test_opening_needs_two_different_committee_members_after_the_deadline(world):
    tw = make_tender(world)
    submit_both_bids(tw)
    with pytest.raises(OpeningRefused, match="only after the deadline"):
        opening.confirm_opening(tw.tender.id, tw.committee, now=BEFORE_DEADLINE)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenderOpeningConfirmation)) == 0

    opening.confirm_opening(tw.tender.id, tw.committee, now=AFTER_DEADLINE)
    assert tw.tender.status is TenderStatus.OPEN  # one confirmation opens nothing
    with pytest.raises(OpeningRefused, match="second, different committee member"):
        opening.confirm_opening(tw.tender.id, tw.committee, now=AFTER_DEADLINE)
    opening.confirm_opening(tw.tender.id, tw.committee2, now=AFTER_DEADLINE + timedelta(hours=1))

    assert tw.tender.status is TenderStatus.OPENED
    confirmations = list(
        db.session.scalars(
            sa.select(TenderOpeningConfirmation).order_by(TenderOpeningConfirmation.confirmed_at)
        )
    )
    assert [(c.user_id, c.confirmed_at) for c in confirmations] == [
        (tw.committee.id, AFTER_DEADLINE),
        (tw.committee2.id, AFTER_DEADLINE + timedelta(hours=1)),
    ]


def test_fewer_valid_bids_than_the_minimum_make_the_tender_unsuccessful(world):
    tw = make_tender(world, min_valid_bids=3)
    submit_both_bids(tw)
    open_bids(tw)
    opening.start_evaluation(tw.tender.id, tw.committee, now=AFTER_DEADLINE + timedelta(days=1))
    assert tw.tender.status is TenderStatus.UNSUCCESSFUL
    assert tw.lot.unsuccessful
    messages = db.session.scalars(sa.select(TenderNotification.message)).all()
    assert any("unsuccessful" in m for m in messages)


def test_a_disqualified_bid_does_not_count_towards_the_minimum(world):
    tw = make_tender(world, min_valid_bids=2)
    bid_a, _ = submit_both_bids(tw)
    open_bids(tw)
    opening.disqualify_bid(
        tw.tender.id, bid_a.id, tw.committee, "No safeguarding policy", now=AFTER_DEADLINE
    )
    opening.start_evaluation(tw.tender.id, tw.committee, now=AFTER_DEADLINE + timedelta(days=1))
    assert tw.tender.status is TenderStatus.UNSUCCESSFUL


def test_cancelling_before_opening_discards_the_bids_unseen(world):
    tw = make_tender(world)
    submit_both_bids(tw)
    publication.cancel_tender(tw.tender.id, tw.committee, "Budget withdrawn", now=AFTER_DEADLINE)
    assert tw.tender.status is TenderStatus.CANCELLED
    assert tw.tender.bids_discarded
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenderBid)) == 0
    told = set(db.session.scalars(sa.select(TenderNotification.provider_id)))
    assert told == {world.provider_a.id, world.provider_b.id}
    # The trail never shows the discarded bids.
    assert not [e for e in reading.trail(tw.tender) if e.entity_type == "tender_bid"]


def test_cancelling_after_opening_keeps_the_bids_on_record(world):
    tw = make_tender(world)
    submit_both_bids(tw)
    open_bids(tw)
    publication.cancel_tender(tw.tender.id, tw.committee, "Requirement changed", now=AFTER_DEADLINE)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenderBid)) == 2


def test_a_contracted_tender_cannot_be_cancelled(world):
    tw = make_tender(world)
    bid_a, bid_b = submit_both_bids(tw)
    open_bids(tw)
    evaluate(tw, {bid_a.id: (50, 50), bid_b.id: (50, 50)})
    award.decide_award(tw.tender.id, tw.committee, now=AFTER_DEADLINE + timedelta(days=2))
    award.enter_into_contracts(tw.tender.id, tw.committee, now=datetime(2026, 4, 1, tzinfo=UTC))
    with pytest.raises(TenderStateConflict, match="cannot be cancelled"):
        publication.cancel_tender(
            tw.tender.id, tw.committee, "late", now=datetime(2026, 4, 2, tzinfo=UTC)
        )


def test_a_draft_with_missing_parts_cannot_be_published(world):
    tw = make_tender(world, publish=False)
    drafting.remove_lot(tw.tender.id, tw.lot.id, tw.committee, now=T0)
    with pytest.raises(TenderError, match="Add at least one lot"):
        publication.publish_tender(tw.tender.id, tw.committee, now=T0)
    assert tw.tender.status is TenderStatus.DRAFT


def test_publishing_needs_three_working_days_before_the_deadline(world):
    tw = make_tender(world, publish=False)
    # Friday 13 March 2026: three working days later is Wednesday the 18th, after the deadline.
    with pytest.raises(TenderError, match="18 March 2026"):
        publication.publish_tender(
            tw.tender.id, tw.committee, now=datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
        )
    assert tw.tender.status is TenderStatus.DRAFT


def test_a_withdrawn_bid_is_not_counted_and_can_be_sent_again(world):
    tw = make_tender(world)
    bid_a, _ = submit_both_bids(tw)
    bid_service.withdraw_bid(tw.tender.id, bid_a.id, world.provider_user_a, now=BEFORE_DEADLINE)
    assert bid_a.status is BidStatus.WITHDRAWN
    again = bid_service.submit_bid(
        tw.tender.id,
        tw.lot.id,
        world.provider_user_a,
        bid_service.BidInput(
            capacity=500,
            tiers=((0, 20_000),),
            answers={qid: "Again" for qid in tw.questions.values()},
        ),
        now=BEFORE_DEADLINE + timedelta(minutes=1),
    )
    assert again.id == bid_a.id
    assert again.status is BidStatus.SUBMITTED
    assert again.submitted_at == BEFORE_DEADLINE + timedelta(minutes=1)
