"""Rating delivered work and replying to a rating (use cases), and what pages show of ratings:
summaries of an offer, a contract or a provider, and their comments without any name.

Every summary holds its averages back below rules.SHOWN_FROM ratings; comments are shown
with it, and never with the school's or the rater's name. Procurement pages read
`summary_for_contract` and `summary_for_provider`; the KPI of satisfaction reads Rating rows
through rules.average_score.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.models import Role, User
from app.notifications.rendering import link
from app.notifications.services import notify
from app.time import to_london, utcnow
from app.use_case import use_case
from marketplace.orders.access import get_order_for_school
from marketplace.orders.models import Order, OrderStatus
from marketplace.ratings import rules
from marketplace.ratings.errors import (
    AlreadyRated,
    AlreadyReplied,
    InvalidRating,
    RatingNotFound,
    RatingRefused,
)
from marketplace.ratings.models import Rating
from marketplace.supply.access import get_timesheet_for_school


@dataclass(frozen=True)
class RatingInput:
    """What the school enters: three scores of 1 to 5 and an optional comment."""

    quality: int
    timeliness: int
    communication: int
    comment: str = ""

    @property
    def scores(self) -> rules.Scores:
        return rules.Scores(self.quality, self.timeliness, self.communication)


def _checked(entry: RatingInput) -> str:
    problems = rules.score_problems(entry.scores, entry.comment)
    if problems:
        field, message = next(iter(problems.items()))
        raise InvalidRating(message, field=field)
    return entry.comment.strip()


def _record(actor: User | None, rating: Rating, action: str, before: dict | None) -> None:
    audit.record(
        actor,
        "rating",
        rating.id,
        action,
        before=before,
        after=rating.snapshot(),
        scope=f"school:{rating.school_id}",
    )


def _tell_provider(rating: Rating, what: str) -> None:
    """The provider's users hear of a new rating (not who gave it) and where to reply."""
    users = db.session.scalars(
        sa.select(User)
        .where(User.provider_id == rating.provider_id, User.role == Role.PROVIDER)
        .order_by(User.id)
    ).all()
    notify(
        "rating_received",
        users,
        event=f"rating-{rating.id}-received",
        template="rating_received",
        subject=f"A school has rated {what}",
        link=link("marketplace.provider_ratings"),
        about=("rating", rating.id),
        summary=f"{what}: quality {rating.quality}, timeliness {rating.timeliness}, "
        f"communication {rating.communication} out of 5",
        what=what,
        rating=rating,
    )


def _rated(entry: RatingInput, actor: User, what: str, **piece: int | None) -> Rating:
    """A new rating of one piece of work (`piece`: whose it is and what it rates), recorded in
    the audit trail and told to the provider; the caller commits."""
    rating = Rating(
        **piece,
        quality=entry.quality,
        timeliness=entry.timeliness,
        communication=entry.communication,
        comment=_checked(entry),
        rated_by_id=actor.id,
    )
    db.session.add(rating)
    db.session.flush()
    _record(actor, rating, "rated", None)
    _tell_provider(rating, what)
    return rating


@use_case
def rate_order(order_id: int, school_id: int, entry: RatingInput, actor: User) -> Rating:
    """The school rates one of its delivered (or invoiced) orders, once."""
    order = get_order_for_school(order_id, school_id, lock=True)
    exists = db.session.scalar(sa.select(Rating.id).where(Rating.order_id == order.id))
    problem = rules.order_rating_problem(order.status.value, already_rated=exists is not None)
    if problem:
        raise (AlreadyRated if exists is not None else RatingRefused)(problem)
    rating = _rated(
        entry,
        actor,
        f"order {order.id} ({order.service.name})",
        school_id=order.school_id,
        provider_id=order.provider_id,
        service_id=order.service_id,
        offer_id=order.offer_id,
        contract_id=order.contract_id,
        order_id=order.id,
    )
    db.session.commit()
    return rating


@use_case
def rate_timesheet(timesheet_id: int, school_id: int, entry: RatingInput, actor: User) -> Rating:
    """The school rates one approved supply timesheet week, once."""
    sheet = get_timesheet_for_school(timesheet_id, school_id, lock=True)
    exists = db.session.scalar(sa.select(Rating.id).where(Rating.timesheet_id == sheet.id))
    problem = rules.timesheet_rating_problem(sheet.status.value, already_rated=exists is not None)
    if problem:
        raise (AlreadyRated if exists is not None else RatingRefused)(problem)
    rating = _rated(
        entry,
        actor,
        f"supply cover, week of {sheet.week_starting:%-d %B %Y}",
        school_id=sheet.school_id,
        provider_id=sheet.provider_id,
        timesheet_id=sheet.id,
    )
    db.session.commit()
    return rating


def get_rating_for_provider(rating_id: int, provider_id: int, *, lock: bool = False) -> Rating:
    """A rating of this provider's work (404 for anyone else's)."""
    stmt = sa.select(Rating).where(Rating.id == rating_id, Rating.provider_id == provider_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    rating = db.session.scalar(stmt)
    if rating is None:
        raise RatingNotFound("There is no such rating.")
    return rating


@use_case
def reply(rating_id: int, provider_id: int, text: str, actor: User) -> Rating:
    """The provider replies to a rating of its work, once; the reply is public."""
    rating = get_rating_for_provider(rating_id, provider_id, lock=True)
    already = rating.replied_at is not None
    problem = rules.reply_problem(text, already_replied=already)
    if problem:
        if already:
            raise AlreadyReplied(problem)
        raise InvalidRating(problem, field="reply")
    before = rating.snapshot()
    rating.reply = text.strip()
    rating.replied_at = utcnow()
    rating.replied_by_id = actor.id
    _record(actor, rating, "replied", before)
    db.session.commit()
    return rating


# What pages show ---------------------------------------------------------------------------


def _summary(*conditions: sa.ColumnElement[bool]) -> rules.Summary:
    row = db.session.execute(
        sa.select(
            sa.func.count(Rating.id),
            sa.func.coalesce(sa.func.sum(Rating.quality), 0),
            sa.func.coalesce(sa.func.sum(Rating.timeliness), 0),
            sa.func.coalesce(sa.func.sum(Rating.communication), 0),
        ).where(*conditions)
    ).one()
    return rules.summary_from_totals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def summary_for_offer(offer_id: int) -> rules.Summary:
    """An offer's ratings: the count, and averages from three ratings up."""
    return _summary(Rating.offer_id == offer_id)


def summary_for_contract(contract_id: int) -> rules.Summary:
    """A contract's ratings (its call-off orders'): the count, and averages from three up."""
    return _summary(Rating.contract_id == contract_id)


def summary_for_provider(provider_id: int) -> rules.Summary:
    """Every rating of a provider's work (orders, call-offs and supply weeks)."""
    return _summary(Rating.provider_id == provider_id)


def summaries_for_offers(offer_ids: Iterable[int]) -> dict[int, rules.Summary]:
    """Each offer's summary, in one query (an offer without ratings has a count of 0)."""
    ids = sorted(set(offer_ids))
    found = {
        row[0]: rules.summary_from_totals(int(row[1]), int(row[2]), int(row[3]), int(row[4]))
        for row in db.session.execute(
            sa.select(
                Rating.offer_id,
                sa.func.count(Rating.id),
                sa.func.sum(Rating.quality),
                sa.func.sum(Rating.timeliness),
                sa.func.sum(Rating.communication),
            )
            .where(Rating.offer_id.in_(ids))
            .group_by(Rating.offer_id)
        )
    }
    return {offer_id: found.get(offer_id, rules.Summary(count=0)) for offer_id in ids}


def summaries_for_providers(provider_ids: Iterable[int]) -> dict[int, rules.Summary]:
    """Each provider's summary (for a lot's bidders), one query each."""
    return {pid: summary_for_provider(pid) for pid in sorted(set(provider_ids))}


@dataclass(frozen=True)
class PublicComment:
    """A rating as others see it: scores, comment, month, and the provider's reply; no
    school, no rater, no order."""

    quality: int
    timeliness: int
    communication: int
    comment: str
    month: str  # "November 2026" (London): no day or time, which could point to a school
    reply: str
    what: str


def _public(ratings: Iterable[Rating]) -> list[PublicComment]:
    return [
        PublicComment(
            quality=r.quality,
            timeliness=r.timeliness,
            communication=r.communication,
            comment=r.comment,
            month=to_london(r.rated_at).strftime("%B %Y"),
            reply=r.reply,
            what=r.service.name if r.service is not None else "Supply cover",
        )
        for r in ratings
    ]


def public_comments(
    *conditions: sa.ColumnElement[bool], summary: rules.Summary
) -> list[PublicComment]:
    """The ratings matching `conditions`, newest first, as anyone may read them; none at all
    while the summary is held back (fewer than three ratings)."""
    if not summary.shown:
        return []
    ratings = db.session.scalars(
        sa.select(Rating)
        .where(*conditions)
        .options(selectinload(Rating.service))
        .order_by(Rating.rated_at.desc(), Rating.id.desc())
    )
    return _public(ratings)


def offer_comments(offer_id: int, summary: rules.Summary) -> list[PublicComment]:
    return public_comments(Rating.offer_id == offer_id, summary=summary)


def contract_comments(contract_id: int, summary: rules.Summary) -> list[PublicComment]:
    return public_comments(Rating.contract_id == contract_id, summary=summary)


def provider_ratings(provider_id: int) -> list[Rating]:
    """Every rating of the provider's work, newest first, for its own page (with reply forms).
    The page shows neither the school nor the rater."""
    return list(
        db.session.scalars(
            sa.select(Rating)
            .where(Rating.provider_id == provider_id)
            .options(selectinload(Rating.service), selectinload(Rating.offer))
            .order_by(Rating.rated_at.desc(), Rating.id.desc())
        )
    )


def rating_of_order(order_id: int) -> Rating | None:
    return db.session.scalar(sa.select(Rating).where(Rating.order_id == order_id))


def rated_timesheet_ids(timesheet_ids: Iterable[int]) -> set[int]:
    """Which of these timesheet weeks have been rated."""
    ids = list(timesheet_ids)
    if not ids:
        return set()
    found = db.session.scalars(sa.select(Rating.timesheet_id).where(Rating.timesheet_id.in_(ids)))
    return {tid for tid in found if tid is not None}


@dataclass(frozen=True)
class ContractRatings:
    """What a contract's page shows of its ratings."""

    summary: rules.Summary
    comments: list[PublicComment]


def contract_ratings(contract_id: int) -> ContractRatings:
    """A contract's summary and, from three ratings up, its comments."""
    summary = summary_for_contract(contract_id)
    return ContractRatings(summary, contract_comments(contract_id, summary))


def orders_to_rate(school_id: int) -> int:
    """How many of the school's delivered (or invoiced) orders it has not rated yet."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(Order.id))
            .outerjoin(Rating, Rating.order_id == Order.id)
            .where(
                Order.school_id == school_id,
                Order.status.in_([OrderStatus(s) for s in sorted(rules.RATEABLE_ORDER_STATUSES)]),
                Rating.id.is_(None),
            )
        )
        or 0
    )
