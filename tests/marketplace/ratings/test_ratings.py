"""Rating delivered work: once per order or approved timesheet week, by the school that bought
it; one public reply by the provider; summaries of offers, contracts and providers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import AuditEvent
from app.notifications.models import Notification
from marketplace.orders.errors import OrderNotFound
from marketplace.orders.models import OrderStatus
from marketplace.ratings import services
from marketplace.ratings.errors import (
    AlreadyRated,
    AlreadyReplied,
    InvalidRating,
    RatingNotFound,
    RatingRefused,
)
from marketplace.ratings.models import Rating
from marketplace.supply import timesheets
from marketplace.supply.errors import SupplyNotFound
from marketplace.supply.rules import RateUnit
from tests.marketplace.billing.conftest import make_contract
from tests.marketplace.ratings.conftest import delivered, rate
from tests.marketplace.supply.conftest import book, post


def ratings_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Rating))


def test_a_school_rates_its_delivered_order_once_and_the_provider_hears_of_it(market):
    order = delivered(market)
    rating = rate(market, order, (5, 4, 3), "  Very helpful counsellor.  ")
    assert (rating.school_id, rating.provider_id) == (market.school_a.id, market.provider_a.id)
    assert (rating.service_id, rating.offer_id, rating.contract_id) == (
        market.service.id,
        market.offer_a.id,
        None,
    )
    assert (rating.quality, rating.timeliness, rating.communication) == (5, 4, 3)
    assert rating.comment == "Very helpful counsellor."
    assert rating.rated_by_id == market.sbm_a.id and rating.rated_at is not None
    told = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.key == f"rating-{rating.id}-received")
    ).all()
    assert told == [market.provider_user_a.id]
    assert (
        db.session.scalar(
            sa.select(AuditEvent.action).where(
                AuditEvent.entity_type == "rating", AuditEvent.entity_id == str(rating.id)
            )
        )
        == "rated"
    )
    with pytest.raises(AlreadyRated, match="already rated this order"):
        rate(market, order, (1, 1, 1), user=market.head_a)
    assert ratings_count() == 1


@pytest.mark.parametrize("status", [OrderStatus.CONFIRMED, OrderStatus.APPROVED])
def test_an_order_not_yet_delivered_cannot_be_rated(market, status):
    order = delivered(market, status=status)
    with pytest.raises(RatingRefused, match="once it has been delivered"):
        rate(market, order)
    assert ratings_count() == 0


def test_an_invoiced_order_can_be_rated(market):
    assert rate(market, delivered(market, status=OrderStatus.INVOICED)).id


def test_a_school_cannot_rate_another_schools_order(market):
    order = delivered(market, school=market.school_b)
    with pytest.raises(OrderNotFound):
        services.rate_order(
            order.id, market.school_a.id, services.RatingInput(5, 5, 5), market.sbm_a
        )
    assert ratings_count() == 0


@pytest.mark.parametrize(
    ("scores", "comment", "field"),
    [
        ((0, 3, 3), "", "quality"),
        ((3, 3, 6), "", "communication"),
        ((3, 3, 3), "x" * 2001, "comment"),
    ],
)
def test_bad_scores_are_refused_on_their_field_and_write_nothing(market, scores, comment, field):
    order = delivered(market)
    with pytest.raises(InvalidRating) as refused:
        rate(market, order, scores, comment)
    assert refused.value.field == field
    assert ratings_count() == 0


def test_the_database_holds_one_rating_per_order_and_scores_in_range(market):
    order = delivered(market)
    rate(market, order)
    base = dict(
        school_id=market.school_a.id,
        provider_id=market.provider_a.id,
        quality=3,
        timeliness=3,
        communication=3,
    )
    for values in (
        {"order_id": order.id},  # a second rating of the same order
        {"order_id": delivered(market).id, "quality": 6},
        {},  # neither an order nor a timesheet
    ):
        with pytest.raises(IntegrityError):
            with db.session.begin_nested():
                db.session.add(Rating(**{**base, **values}))
                db.session.flush()


def test_the_provider_replies_once_in_public_and_no_other_provider_can(market):
    rating = rate(market, delivered(market))
    with pytest.raises(RatingNotFound):
        services.reply(rating.id, market.provider_b.id, "Not ours", market.provider_user_b)
    with pytest.raises(InvalidRating, match="Enter your reply"):
        services.reply(rating.id, market.provider_a.id, "   ", market.provider_user_a)
    services.reply(rating.id, market.provider_a.id, " Thank you. ", market.provider_user_a)
    rating = db.session.get(Rating, rating.id)
    assert rating.reply == "Thank you." and rating.replied_at is not None
    assert rating.replied_by_id == market.provider_user_a.id
    with pytest.raises(AlreadyReplied):
        services.reply(rating.id, market.provider_a.id, "Again", market.provider_user_a)
    assert db.session.get(Rating, rating.id).reply == "Thank you."


def test_offer_summaries_show_averages_only_from_three_ratings(market):
    orders = [delivered(market), delivered(market, school=market.school_b), delivered(market)]
    rate(market, orders[0], (5, 5, 4))
    rate(market, orders[1], (3, 4, 4))
    summary = services.summary_for_offer(market.offer_a.id)
    assert summary.count == 2 and not summary.shown and summary.overall is None
    assert services.offer_comments(market.offer_a.id, summary) == []
    rate(market, orders[2], (4, 3, 4), "Good")
    summary = services.summary_for_offer(market.offer_a.id)
    assert summary.shown and str(summary.quality) == "4.00" and str(summary.overall) == "4.00"
    comments = services.offer_comments(market.offer_a.id, summary)
    assert [c.comment for c in comments] == ["Good", "", ""]  # newest first
    by_offer = services.summaries_for_offers([market.offer_a.id, market.offer_b.id])
    assert by_offer[market.offer_a.id] == summary and by_offer[market.offer_b.id].count == 0
    assert services.summary_for_provider(market.provider_a.id) == summary
    assert services.summary_for_provider(market.provider_b.id).count == 0


def test_call_off_ratings_count_for_their_contract(market):
    contract = make_contract(market.offer_a)
    for school, scores in (
        (market.school_a, (5, 5, 5)),
        (market.school_b, (4, 4, 4)),
        (market.school_a, (3, 3, 3)),
    ):
        rate(market, delivered(market, school=school, contract=contract), scores)
    rate(market, delivered(market), (1, 1, 1))  # an ordinary order: not the contract's
    summary = services.summary_for_contract(contract.id)
    assert summary.count == 3 and str(summary.overall) == "4.00"
    assert services.summary_for_provider(market.provider_a.id).count == 4


def test_an_approved_timesheet_week_is_rated_once_by_its_school(supply):
    world = supply.world
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 18)))
    monday = date(2026, 9, 14)
    sheet = timesheets.submit(
        booking.id,
        booking.provider_id,
        monday,
        {monday: RateUnit.DAY},
        None,
        now=supply_friday(monday),
    )
    entry = services.RatingInput(4, 5, 4, "On time every day")
    with pytest.raises(RatingRefused, match="once your school has approved it"):
        services.rate_timesheet(sheet.id, world.school_a.id, entry, world.sbm_a)
    timesheets.approve(sheet.id, world.school_a.id, None)
    with pytest.raises(SupplyNotFound):
        services.rate_timesheet(sheet.id, world.school_b.id, entry, world.sbm_b)
    rating = services.rate_timesheet(sheet.id, world.school_a.id, entry, world.sbm_a)
    assert (rating.timesheet_id, rating.order_id, rating.offer_id) == (sheet.id, None, None)
    assert rating.provider_id == booking.provider_id
    assert services.rated_timesheet_ids([sheet.id]) == {sheet.id}
    with pytest.raises(AlreadyRated):
        services.rate_timesheet(sheet.id, world.school_a.id, entry, world.head_a)


def supply_friday(monday: date) -> datetime:
    """5 pm on the Friday of the week: the agency submits the week then."""
    return datetime.combine(monday + timedelta(days=4), time(17), UTC)


def test_the_school_sees_how_many_delivered_orders_it_has_still_to_rate(client, auth, market):
    rated = delivered(market)
    delivered(market, status=OrderStatus.INVOICED)
    delivered(market, status=OrderStatus.CONFIRMED)  # not delivered yet: nothing to rate
    delivered(market, school=market.school_b)  # another school's
    rate(market, rated)
    assert services.orders_to_rate(market.school_a.id) == 1
    assert services.orders_to_rate(market.school_b.id) == 1
    auth.as_user(market.sbm_a)
    assert "1 delivered order to rate" in client.get("/orders").get_data(as_text=True)
