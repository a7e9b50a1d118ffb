"""Mini-competitions through their use cases: the framework's ranking, the request, sealed
quotes, opening, quality scores, the award's call-off order, notifications and the audit
trail (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.audit import events_in_scope
from app.extensions import db
from app.models import Role
from app.notifications.models import Notification
from app.time import utcnow
from marketplace.orders.models import Order, OrderKind, OrderStatus
from procurement.contracts.models import ContractStatus
from procurement.minicomps import access, award, reading, services
from procurement.minicomps.errors import (
    FrameworkNotFound,
    InvalidQuote,
    MiniCompetitionError,
    MiniCompetitionNotFound,
    MiniCompetitionStateConflict,
    NotYourMiniCompetition,
)
from procurement.minicomps.models import AwardMethod, MiniCompetitionStatus, QuoteStatus
from tests import factories
from tests.procurement.minicomps.factories import (
    SECRET_NOTE_A,
    SECRET_QUOTE_A,
    SECRET_QUOTE_B,
    deadline_for,
    make_framework,
    quote,
    request_input,
    start,
)


@pytest.fixture
def fw(world):
    return make_framework(world)


def test_a_lot_awarded_to_two_suppliers_is_a_framework_ranked_by_the_award(fw, world):
    assert (fw.contract_a.framework_rank, fw.contract_b.framework_rank) == (1, 2)
    framework = access.get_framework_for_user(fw.contract_b.id, world.sbm_a)
    assert [c.id for c in framework.contracts] == [fw.contract_a.id, fw.contract_b.id]
    assert framework.buyer_school_ids == [world.school_a.id]


def test_a_single_supplier_lot_has_no_framework_rank(world):
    from procurement.tenders import award as tender_award
    from tests.procurement.tenders.factories import (
        evaluate,
        make_tender,
        open_bids,
        submit_both_bids,
    )

    now = utcnow()
    tw = make_tender(world, now=now - timedelta(days=60), deadline_at=now - timedelta(days=40))
    bid_a, bid_b = submit_both_bids(tw, now=now - timedelta(days=50))
    open_bids(tw, now=now - timedelta(days=39))
    evaluate(tw, {bid_a.id: (60, 60), bid_b.id: (60, 60)}, now=now - timedelta(days=38))
    tender_award.decide_award(tw.tender.id, world.committee, now=now - timedelta(days=30))
    (contract,) = tender_award.enter_into_contracts(tw.tender.id, world.committee, now=now)
    assert contract.framework_rank is None


def test_the_request_invites_every_framework_supplier_and_tells_them(fw, world):
    mini = start(fw)
    assert {q.provider_id for q in mini.quotes} == {world.provider_a.id, world.provider_b.id}
    assert all(q.status is QuoteStatus.INVITED for q in mini.quotes)
    told = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.kind == "mini_competition")
    ).all()
    assert set(told) == {world.provider_user_a.id, world.provider_user_b.id}
    assert [e.action for e in events_in_scope(f"mini_competition:{mini.id}")] == [
        "quote request sent"
    ]


def test_the_deadline_must_give_two_working_days(fw, world):
    now = utcnow()
    with pytest.raises(MiniCompetitionError, match="2 working days") as refused:
        services.start_mini_competition(
            fw.contract_a.id,
            world.sbm_a,
            request_input(world.school_a.id, now, deadline_at=now + timedelta(hours=3)),
            now=now,
        )
    assert refused.value.field == "deadline_on"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"requirement": "  "}, "requirement"),
        ({"quantity": 0}, "quantity"),
        ({"term_key": "1999-autumn"}, "term_key"),
        ({"po_number": ""}, "po_number"),
        (
            {"award_method": AwardMethod.WEIGHTED, "price_weight": 50, "quality_weight": 20},
            "price_weight",
        ),
    ],
)
def test_bad_requests_are_refused_with_the_field_named(fw, world, overrides, field):
    now = utcnow()
    with pytest.raises(MiniCompetitionError) as refused:
        services.start_mini_competition(
            fw.contract_a.id, world.sbm_a, request_input(world.school_a.id, now, **overrides)
        )
    assert refused.value.field == field


def test_only_a_school_taking_part_or_the_committee_runs_one(fw, world):
    outsider_school = factories.make_school("Gamma Academy")
    outsider = factories.make_user(Role.SBM, school=outsider_school)
    for user in (outsider, world.provider_user_a):
        with pytest.raises(FrameworkNotFound):
            start(fw, actor=user)
    with pytest.raises(NotYourMiniCompetition):
        start(fw, actor=world.admin)
    assert start(fw, actor=world.committee).school_id == world.school_a.id
    assert start(fw, actor=world.trust_user).school_id == world.school_a.id


def test_quotes_are_sealed_from_everyone_but_their_supplier_until_opened(fw, world):
    now = utcnow()
    mini = start(fw, started=now)
    quote(mini, world.provider_user_a, SECRET_QUOTE_A, now + timedelta(hours=1), SECRET_NOTE_A)
    quote(mini, world.provider_user_b, SECRET_QUOTE_B, now + timedelta(hours=2))
    after_deadline = mini.deadline_at + timedelta(hours=1)
    for when in (now + timedelta(hours=3), after_deadline):
        for user in (world.sbm_a, world.committee, world.admin, world.trust_user):
            page = reading.page_for(access.get_for_user(mini.id, user), user, when)
            assert page.sealed and page.quotes == []
        page = reading.page_for(mini, world.provider_user_b, when)
        assert [q.unit_price_pence for q in page.quotes] == [SECRET_QUOTE_B]
    trail = reading.trail(mini, after_deadline)
    assert [row.what for row in trail] == ["quote request sent"]
    # No audit event ever carries a price before opening.
    for event in events_in_scope(f"mini_competition:{mini.id}"):
        assert str(SECRET_QUOTE_A) not in str(event.after)


def test_a_supplier_replaces_and_withdraws_its_quote_before_the_deadline(fw, world):
    now = utcnow()
    mini = start(fw, started=now)
    quote(mini, world.provider_user_a, 40_000, now + timedelta(hours=1))
    quote(mini, world.provider_user_a, SECRET_QUOTE_A, now + timedelta(hours=2))
    own = access.own_quote(mini, world.provider_user_a)
    assert own.unit_price_pence == SECRET_QUOTE_A
    services.withdraw_quote(mini.id, world.provider_user_a, now=now + timedelta(hours=3))
    assert own.status is QuoteStatus.WITHDRAWN and own.unit_price_pence is None
    actions = [e.action for e in events_in_scope(f"mini_competition:{mini.id}")]
    assert actions[1:] == ["quote submitted", "quote replaced", "quote withdrawn"]


def test_quotes_are_refused_after_the_deadline_and_without_the_declaration(fw, world):
    now = utcnow()
    mini = start(fw, started=now)
    with pytest.raises(InvalidQuote) as refused:
        services.submit_quote(
            mini.id, world.provider_user_a, unit_price_pence=100, note="",
            declared_compliant=False, now=now,
        )  # fmt: skip
    assert refused.value.field == "declared_compliant"
    with pytest.raises(InvalidQuote):
        services.submit_quote(
            mini.id, world.provider_user_a, unit_price_pence=0, note="",
            declared_compliant=True, now=now,
        )  # fmt: skip
    with pytest.raises(MiniCompetitionStateConflict, match="deadline"):
        quote(mini, world.provider_user_a, 100, mini.deadline_at)


def test_a_supplier_outside_the_framework_cannot_quote_or_see_it(fw, world):
    mini = start(fw)
    stranger = factories.make_user(Role.PROVIDER, provider=factories.make_provider("Delta Ltd"))
    with pytest.raises(MiniCompetitionNotFound):
        access.get_for_user(mini.id, stranger)
    with pytest.raises(MiniCompetitionNotFound):
        quote(mini, stranger, 100, utcnow())


def test_quotes_open_only_after_the_deadline_and_only_for_the_buyer(fw, world):
    now = utcnow()
    mini = start(fw, started=now)
    with pytest.raises(MiniCompetitionStateConflict, match="after the deadline"):
        award.open_quotes(mini.id, world.sbm_a, now=now + timedelta(hours=1))
    with pytest.raises(NotYourMiniCompetition):
        award.open_quotes(mini.id, world.admin, now=mini.deadline_at)
    with pytest.raises(MiniCompetitionNotFound):
        award.open_quotes(mini.id, world.sbm_b, now=mini.deadline_at)


def _run(fw, world, method=AwardMethod.LOWEST_PRICE, **overrides):
    """Started 10 days ago; A and B quote; opened after the deadline."""
    started = utcnow() - timedelta(days=10)
    mini = start(fw, started=started, award_method=method, **overrides)
    quote(mini, world.provider_user_a, SECRET_QUOTE_A, started + timedelta(hours=1))
    quote(mini, world.provider_user_b, SECRET_QUOTE_B, started + timedelta(hours=2))
    opened = mini.deadline_at + timedelta(hours=1)
    award.open_quotes(mini.id, world.sbm_a, now=opened)
    return mini, opened


def test_the_award_places_the_winners_call_off_order_in_the_normal_workflow(fw, world):
    mini, opened = _run(fw, world)
    page = reading.page_for(mini, world.sbm_a, opened)
    assert not page.sealed
    assert {q.unit_price_pence for q in page.quotes} == {SECRET_QUOTE_A, SECRET_QUOTE_B}
    award.award(mini.id, world.sbm_a, now=opened + timedelta(minutes=5))
    assert mini.status is MiniCompetitionStatus.AWARDED
    order = db.session.get(Order, mini.order_id)
    assert order.kind is OrderKind.CALL_OFF
    assert order.contract_id == fw.contract_b.id and order.provider_id == world.provider_b.id
    assert order.offer_id is None
    assert (order.unit_price_pence, order.quantity) == (SECRET_QUOTE_B, 12)
    assert order.total_pence == SECRET_QUOTE_B * 12
    assert order.po_number == "PO-MC-1"
    assert order.status in (OrderStatus.APPROVED, OrderStatus.SUBMITTED)
    assert "Lowest compliant price wins: £298.53" in mini.decision_note


def test_losing_suppliers_are_told_and_every_step_is_audited(fw, world):
    mini, opened = _run(fw, world)
    award.award(mini.id, world.sbm_a, now=opened + timedelta(minutes=5))
    told = {
        n.user_id: n.title
        for n in db.session.scalars(
            sa.select(Notification).where(Notification.kind == "mini_competition")
        )
        if "invited" not in n.key
    }
    assert "not successful" in told[world.provider_user_a.id]
    assert "won" in told[world.provider_user_b.id]
    actions = [e.action for e in events_in_scope(f"mini_competition:{mini.id}")]
    assert actions == [
        "quote request sent",
        "quote submitted",
        "quote submitted",
        "quote opened",
        "quote opened",
        "quotes opened",
        "awarded",
    ]
    order_events = events_in_scope(f"school:{world.school_a.id}")
    assert [e.action for e in order_events if e.entity_id == str(mini.order_id)][:2] == [
        "created",
        "submitted",
    ]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"capacity": 5}, "has only 5 days left to call off, and this call-off needs 12"),
        ({"value_pence": SECRET_QUOTE_B * 12 - 1}, "of its maximum value left"),
        ({"status": ContractStatus.TERMINATED}, "This contract is terminated"),
    ],
)
def test_the_award_is_refused_when_the_winners_contract_cannot_take_the_call_off(
    fw, world, change, refusal
):
    mini, opened = _run(fw, world)  # B's quote is the lowest
    for name, value in change.items():
        setattr(fw.contract_b, name, value)
    db.session.commit()
    with pytest.raises(MiniCompetitionStateConflict, match=refusal):
        award.award(mini.id, world.sbm_a, now=opened)
    db.session.refresh(mini)
    assert mini.status is MiniCompetitionStatus.OPENED and mini.order_id is None
    assert all(q.rank is None for q in mini.quotes)
    assert db.session.scalar(sa.select(sa.func.count(Order.id)).where(
        Order.contract_id.in_([fw.contract_a.id, fw.contract_b.id])
    )) == 0  # fmt: skip
    # The school sets the quote aside (its contract cannot take it) and the next one wins.
    b_quote = next(q for q in mini.quotes if q.provider_id == world.provider_b.id)
    award.set_aside_quote(mini.id, b_quote.id, world.sbm_a, "Contract cannot take it", now=opened)
    award.award(mini.id, world.sbm_a, now=opened)
    assert db.session.get(Order, mini.order_id).contract_id == fw.contract_a.id


def test_a_quote_whose_call_off_total_would_not_fit_an_order_is_refused(fw, world):
    now = utcnow()
    mini = start(fw, started=now, quantity=1_000)
    with pytest.raises(InvalidQuote, match="too high") as refused:
        quote(mini, world.provider_user_a, 2_500_000, now)  # £25,000 × 1,000 > £21.4m
    assert refused.value.field == "unit_price"
    quote(mini, world.provider_user_a, 2_000_000, now)  # £20m fits


def test_a_weighted_award_waits_for_quality_scores_then_can_prefer_quality(fw, world):
    mini, opened = _run(fw, world, AwardMethod.WEIGHTED, price_weight=60, quality_weight=40)
    with pytest.raises(MiniCompetitionError, match="Score the quality"):
        award.award(mini.id, world.sbm_a, now=opened)
    quotes = {q.provider_id: q for q in mini.quotes}
    award.score_quality(mini.id, quotes[world.provider_a.id].id, world.sbm_a, 95, now=opened)
    award.score_quality(mini.id, quotes[world.provider_b.id].id, world.sbm_a, 60, now=opened)
    award.award(mini.id, world.sbm_a, now=opened)
    # A: 60 × 298.53/312.47 + 38 = 95.32; B: 60 + 24 = 84.
    assert quotes[world.provider_a.id].rank == 1
    assert quotes[world.provider_a.id].score_hundredths == 9532
    assert db.session.get(Order, mini.order_id).contract_id == fw.contract_a.id


def test_a_quote_set_aside_as_not_compliant_cannot_win(fw, world):
    mini, opened = _run(fw, world)
    cheapest = next(q for q in mini.quotes if q.provider_id == world.provider_b.id)
    with pytest.raises(MiniCompetitionError):
        award.set_aside_quote(mini.id, cheapest.id, world.sbm_a, " ", now=opened)
    award.set_aside_quote(mini.id, cheapest.id, world.sbm_a, "No DBS evidence", now=opened)
    award.award(mini.id, world.sbm_a, now=opened)
    assert db.session.get(Order, mini.order_id).contract_id == fw.contract_a.id
    assert "1 quote was not compliant" in mini.decision_note


def test_no_quotes_by_the_deadline_is_unsuccessful_with_no_order(fw, world):
    started = utcnow() - timedelta(days=10)
    mini = start(fw, started=started)
    award.open_quotes(mini.id, world.sbm_a, now=mini.deadline_at + timedelta(hours=1))
    assert mini.status is MiniCompetitionStatus.UNSUCCESSFUL and mini.order_id is None
    with pytest.raises(MiniCompetitionStateConflict):
        award.award(mini.id, world.sbm_a)


def test_cancelling_before_opening_discards_quotes_unseen(fw, world):
    now = utcnow()
    mini = start(fw, started=now)
    quote(mini, world.provider_user_a, SECRET_QUOTE_A, now)
    services.cancel_mini_competition(mini.id, world.sbm_a, "Covered in-house", now=now)
    assert mini.status is MiniCompetitionStatus.CANCELLED
    assert all(q.unit_price_pence is None for q in mini.quotes)
    with pytest.raises(MiniCompetitionStateConflict):
        award.open_quotes(mini.id, world.sbm_a, now=mini.deadline_at + timedelta(hours=1))


def test_the_deadline_helper_matches_the_rule(fw, world):
    now = utcnow()
    assert start(fw, started=now, deadline_at=deadline_for(now, 2)).deadline_at > now
