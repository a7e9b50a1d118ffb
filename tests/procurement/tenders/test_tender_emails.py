"""Who is emailed about a tender: providers in its categories when published; everyone who
showed interest when a clarification is answered; providers whose bid does not count 3 days
before the deadline; every bidder its standstill letter at the award decision."""

from __future__ import annotations

from datetime import timedelta

from app.models import Role
from procurement.tenders import award
from procurement.tenders import bids as bid_service
from procurement.tenders.clarifications import answer_clarification, ask_clarification
from procurement.tenders.emails import send_deadline_reminders
from procurement.tenders.models import Criterion
from procurement.tenders.publication import publish_tender
from tests import factories
from tests.procurement.tenders.factories import (
    AFTER_DEADLINE,
    DEADLINE,
    T0,
    bid_input,
    make_tender,
    open_bids,
    submit_both_bids,
)
from tests.support.outbox import emails, notifications, recipients
from tests.support.smtp import link_in, text_of


def test_publishing_emails_the_providers_offering_services_in_its_categories(world, mailbox):
    other = factories.make_provider("Payroll Partners Ltd")
    factories.make_offer(other, factories.make_service(category="payroll"))
    other_user = factories.make_user(Role.PROVIDER, provider=other)
    tw = make_tender(world, publish=False)
    assert emails("tender_published") == []
    publish_tender(tw.tender.id, world.committee, now=T0)
    told = recipients("tender_published")
    assert told == {world.provider_user_a.email, world.provider_user_b.email}
    assert other_user.email not in told
    [message] = mailbox.wait_for(world.provider_user_a.email)
    assert message["Subject"] == "New tender: School counselling 2026–28"
    assert "Lot 1: Counselling days" in text_of(message)
    assert link_in(message, f"/tenders/{tw.tender.id}")


def test_an_answered_clarification_goes_to_everyone_who_asked_or_started_a_bid(world):
    late = factories.make_provider("Late Counselling Ltd")
    late_user = factories.make_user(Role.PROVIDER, provider=late)
    tw = make_tender(world)
    bid_service.submit_bid(
        tw.tender.id, tw.lot.id, world.provider_user_b, bid_input(tw), now=T0 + timedelta(hours=1)
    )
    question = ask_clarification(
        tw.tender.id, late_user, "Is supervision included?", now=T0 + timedelta(hours=2)
    )
    answer_clarification(
        tw.tender.id, question.id, world.committee, "Yes.", now=T0 + timedelta(hours=3)
    )
    assert recipients("clarification_answered") == {late_user.email, world.provider_user_b.email}
    [row] = emails("clarification_answered", to=late_user)
    assert "A clarification about “School counselling 2026–28” was published" in row.text_body
    assert [n.kind for n in notifications(late_user)] == ["clarification_answered"]


def test_three_days_before_the_deadline_providers_whose_bid_does_not_count_are_reminded(world):
    tw = make_tender(world)
    bid_a, bid_b = submit_both_bids(tw)
    bid_service.withdraw_bid(tw.tender.id, bid_b.id, world.provider_user_b, now=T0 + timedelta(2))
    assert send_deadline_reminders(DEADLINE - timedelta(days=5)) == 0
    assert send_deadline_reminders(DEADLINE - timedelta(days=3)) == 1
    [row] = emails("bid_deadline")
    assert row.recipient == world.provider_user_b.email
    assert row.subject == "3 days left to bid: School counselling 2026–28"
    assert send_deadline_reminders(DEADLINE - timedelta(days=3, hours=-1)) == 0  # once


def test_the_award_decision_sends_each_bidder_a_standstill_letter(world, mailbox):
    tw = make_tender(world)
    bid_a, bid_b = submit_both_bids(tw)
    open_bids(tw)
    now = AFTER_DEADLINE + timedelta(days=1)
    from procurement.tenders import evaluation as evaluation_service
    from procurement.tenders import opening

    opening.start_evaluation(tw.tender.id, tw.committee, now=now)
    evaluation_service.declare_interests(tw.tender.id, tw.lot.id, tw.committee, False, "", now=now)
    comments = {bid_a.id: "Clear supervision plan", bid_b.id: "Supervision plan too thin"}
    for bid, (quality, social) in ((bid_a, (80, 60)), (bid_b, (50, 40))):
        evaluation_service.score_bid(
            tw.tender.id,
            bid.id,
            tw.committee,
            {Criterion.QUALITY: quality, Criterion.SOCIAL_VALUE: social},
            {Criterion.QUALITY: comments[bid.id]},
            now=now,
        )
    evaluation_service.moderate_lot(
        tw.tender.id,
        tw.lot.id,
        tw.committee,
        {
            bid_a.id: {Criterion.QUALITY: 80, Criterion.SOCIAL_VALUE: 60},
            bid_b.id: {Criterion.QUALITY: 50, Criterion.SOCIAL_VALUE: 40},
        },
        now=now,
    )
    award.decide_award(tw.tender.id, world.committee, now=now + timedelta(hours=1))
    assert recipients("standstill_letter") == {
        world.provider_user_a.email,
        world.provider_user_b.email,
    }
    [loser] = [
        m for m in mailbox.wait_for(world.provider_user_b.email, 2) if "Award" in m["Subject"]
    ]
    body = text_of(loser)
    assert loser["Subject"] == "Award decision: School counselling 2026–28"
    assert "Your bid was not successful: ranked 2 of 2." in body
    assert "Successful bid (Alpha Counselling Ltd)" in body
    assert "Quality: Supervision plan too thin" in body
    assert "Clear supervision plan" not in body  # another bidder's reasons stay theirs
    ends = tw.tender.standstill_ends_on
    assert f"until the end of {ends:%-d %B %Y}" in body
    assert str(bid_a.tiers[0].unit_price_pence) not in body
    [winner] = emails("standstill_letter", to=world.provider_user_a)
    assert "Your bid was successful: ranked 1 of 2." in winner.text_body
    # Not a generic update as well: one message each.
    assert emails("tender_update") == []
