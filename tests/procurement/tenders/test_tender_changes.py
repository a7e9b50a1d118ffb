"""Changing an open tender, re-confirming bids, and anonymised clarifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from procurement.tenders import bids as bid_service
from procurement.tenders import clarifications, drafting
from procurement.tenders.errors import BiddingClosed, TenderStateConflict
from procurement.tenders.models import (
    BidStatus,
    Criterion,
    TenderAmendment,
    TenderNotification,
    TenderStatus,
)
from tests.procurement.tenders.factories import (
    AFTER_DEADLINE,
    BEFORE_DEADLINE,
    DEADLINE,
    make_tender,
    open_bids,
    submit_both_bids,
    tender_input,
)


def _change_title(tw, now, title="Counselling and wellbeing 2026–28"):
    return drafting.update_tender(
        tw.tender.id,
        tw.committee,
        tender_input(
            [tw.world.school_a.id, tw.world.school_b.id],
            title=title,
            deadline_at=tw.tender.deadline_at,
            contract_starts_on=tw.tender.contract_starts_on,
            contract_ends_on=tw.tender.contract_ends_on,
        ),
        now=now,
        reason="Wellbeing work is in scope too",
    )


def test_a_change_tells_every_bidder_and_marks_their_bids_for_re_confirmation(world):
    tw = make_tender(world)
    bid_a, bid_b = submit_both_bids(tw)
    _change_title(tw, now=datetime(2026, 3, 9, 10, 0, tzinfo=UTC))
    assert bid_a.needs_reconfirmation and bid_b.needs_reconfirmation
    told = {n.provider_id: n.message for n in db.session.scalars(sa.select(TenderNotification))}
    assert set(told) == {world.provider_a.id, world.provider_b.id}
    assert "Re-confirm your bid" in told[world.provider_a.id]
    assert "Wellbeing work is in scope too" in told[world.provider_a.id]
    # Early enough: the deadline stays where it was.
    assert tw.tender.deadline_at == DEADLINE


def test_a_change_in_the_last_three_working_days_moves_the_deadline(world):
    tw = make_tender(world)
    submit_both_bids(tw)
    # Thursday 12 March: three working days later is Tuesday 17 March, after the deadline.
    _change_title(tw, now=datetime(2026, 3, 12, 16, 0, tzinfo=UTC))
    assert tw.tender.deadline_at == datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
    (amendment,) = db.session.scalars(sa.select(TenderAmendment))
    assert (amendment.deadline_before, amendment.deadline_after) == (
        DEADLINE,
        datetime(2026, 3, 17, 12, 0, tzinfo=UTC),
    )
    assert "The deadline moved to 17 March 2026 at 12:00" in amendment.description
    # Bidders can still act on the day the deadline used to be.
    bid_service.submit_bid(
        tw.tender.id,
        tw.lot.id,
        world.provider_user_a,
        bid_service.BidInput(
            capacity=500,
            tiers=((0, 20_000),),
            answers={qid: "Yes" for qid in tw.questions.values()},
        ),
        now=DEADLINE + timedelta(hours=2),
    )


def test_re_confirming_makes_a_bid_count_again(world):
    tw = make_tender(world)
    bid_a, bid_b = submit_both_bids(tw)
    _change_title(tw, now=datetime(2026, 3, 9, 10, 0, tzinfo=UTC))
    bid_service.reconfirm_bid(tw.tender.id, bid_a.id, world.provider_user_a, now=BEFORE_DEADLINE)
    assert not bid_a.needs_reconfirmation
    assert bid_a.reconfirmed_at == BEFORE_DEADLINE
    open_bids(tw)
    # B never re-confirmed: its bid does not count.
    assert (bid_a.status, bid_b.status) == (BidStatus.SUBMITTED, BidStatus.DISQUALIFIED)
    assert "Not re-confirmed" in bid_b.disqualified_reason


def test_a_new_question_needs_an_answer_before_re_confirming(world):
    tw = make_tender(world)
    bid_a, _ = submit_both_bids(tw)
    drafting.add_question(
        tw.tender.id,
        world.committee,
        drafting.QuestionInput(Criterion.QUALITY, "How do you handle complaints?"),
        now=datetime(2026, 3, 9, 10, 0, tzinfo=UTC),
        reason="Complaints matter",
    )
    with pytest.raises(bid_service.InvalidBid, match="new question"):
        bid_service.reconfirm_bid(
            tw.tender.id, bid_a.id, world.provider_user_a, now=BEFORE_DEADLINE
        )
    assert bid_a.needs_reconfirmation


def test_re_confirming_after_the_deadline_is_refused(world):
    tw = make_tender(world)
    bid_a, _ = submit_both_bids(tw)
    _change_title(tw, now=datetime(2026, 3, 9, 10, 0, tzinfo=UTC))
    with pytest.raises(BiddingClosed):
        bid_service.reconfirm_bid(tw.tender.id, bid_a.id, world.provider_user_a, now=AFTER_DEADLINE)


def test_clarification_answers_go_to_every_bidder_without_naming_who_asked(client, auth, world):
    now = datetime.now(UTC)
    tw = make_tender(world, now=now - timedelta(days=1), deadline_at=now + timedelta(days=10))
    bid_service.submit_bid(
        tw.tender.id,
        tw.lot.id,
        world.provider_user_b,
        bid_service.BidInput(
            capacity=500,
            tiers=((0, 20_000),),
            answers={qid: "Yes" for qid in tw.questions.values()},
        ),
    )
    asked = clarifications.ask_clarification(
        tw.tender.id, world.provider_user_a, "Is clinical supervision paid separately?"
    )
    auth.as_user(world.committee)
    page = client.get(f"/tenders/{tw.tender.id}").get_data(as_text=True)
    assert "Is clinical supervision paid separately?" in page
    assert world.provider_a.name not in page
    response = client.post(
        f"/tenders/{tw.tender.id}/clarifications/{asked.id}/answer",
        data={"answer": "No: it is part of the day rate."},
    )
    assert response.status_code == 302
    trail = client.get(f"/tenders/{tw.tender.id}/audit").get_data(as_text=True)
    assert "A provider (not named)" in trail
    assert world.provider_user_a.email not in trail and world.provider_a.name not in trail

    auth.logout()
    auth.as_user(world.provider_user_b)
    page = client.get(f"/tenders/{tw.tender.id}").get_data(as_text=True)
    assert "No: it is part of the day rate." in page
    assert world.provider_a.name not in page and "You asked this" not in page
    told = db.session.scalars(
        sa.select(TenderNotification.provider_id).where(
            TenderNotification.message.contains("clarification")
        )
    ).all()
    assert set(told) == {world.provider_a.id, world.provider_b.id}


def test_an_unanswered_question_is_seen_only_by_its_asker_and_the_committee(client, auth, world):
    now = datetime.now(UTC)
    tw = make_tender(world, now=now - timedelta(days=1), deadline_at=now + timedelta(days=10))
    clarifications.ask_clarification(
        tw.tender.id, world.provider_user_a, "Secret worry about TUPE?"
    )
    for user, sees in (
        (world.provider_user_a, True),
        (world.committee, True),
        (world.provider_user_b, False),
        (world.admin, False),
    ):
        auth.logout()
        auth.as_user(user)
        page = client.get(f"/tenders/{tw.tender.id}").get_data(as_text=True)
        assert ("Secret worry about TUPE?" in page) is sees, user.email


def test_a_question_is_answered_only_once(world):
    tw = make_tender(world)
    asked = clarifications.ask_clarification(
        tw.tender.id, world.provider_user_a, "Start date?", now=BEFORE_DEADLINE - timedelta(days=2)
    )
    clarifications.answer_clarification(
        tw.tender.id, asked.id, world.committee, "20 April", now=BEFORE_DEADLINE - timedelta(days=1)
    )
    with pytest.raises(TenderStateConflict, match="already been answered"):
        clarifications.answer_clarification(
            tw.tender.id, asked.id, world.committee, "21 April", now=BEFORE_DEADLINE
        )
    assert asked.answer == "20 April"


def test_questions_close_at_the_deadline(world):
    tw = make_tender(world)
    with pytest.raises(TenderStateConflict, match="clarification questions are closed"):
        clarifications.ask_clarification(
            tw.tender.id, world.provider_user_a, "Late?", now=AFTER_DEADLINE
        )


def test_a_change_to_a_draft_notifies_nobody_and_needs_no_reason(world):
    tw = make_tender(world, publish=False)
    _change_title(tw, now=datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    assert tw.tender.status is TenderStatus.DRAFT
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenderAmendment)) == 0


def test_a_bid_that_no_longer_fits_a_changed_lot_cannot_just_be_re_confirmed(world):
    tw = make_tender(world)
    bid_a, _ = submit_both_bids(tw)  # capacity 4,321
    drafting.update_lot(
        tw.tender.id,
        tw.lot.id,
        world.committee,
        drafting.LotInput(
            title=tw.lot.title,
            description="",
            service_id=world.service.id,
            expected_volume=5_000,
            max_suppliers=1,
        ),
        now=datetime(2026, 3, 9, 10, 0, tzinfo=UTC),
        reason="The schools expect more days",
    )
    with pytest.raises(bid_service.InvalidBid, match="no longer fits the changed tender"):
        bid_service.reconfirm_bid(
            tw.tender.id, bid_a.id, world.provider_user_a, now=BEFORE_DEADLINE
        )
    assert bid_a.needs_reconfirmation
