"""Ratings pages: a school rates an order or a timesheet week; anyone reads an offer's ratings;
a provider reads its own ratings and replies once to each."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.accounts import provider_for_user
from app.extensions import db
from app.forms import submit
from app.models import SCHOOL_ROLES, Role
from app.security import roles_required
from marketplace.blueprint import bp
from marketplace.offers.models import Offer, OfferStatus
from marketplace.orders.access import get_order_for_school
from marketplace.ratings import rules, services
from marketplace.ratings.forms import RatingForm, ReplyForm
from marketplace.ratings.models import Rating
from marketplace.supply.access import get_timesheet_for_school

SCHOOL = tuple(sorted(SCHOOL_ROLES))
SELLERS = (Role.PROVIDER, Role.SBM)  # an SBM replies for their school when it is a hub


def _rate_page(form: RatingForm, status: int, **context: Any) -> tuple[str, int]:
    return render_template("marketplace/ratings/rate.html", form=form, **context), status


@bp.route("/orders/<int:order_id>/rating", methods=["GET", "POST"], endpoint="rating_order")
@roles_required(*SCHOOL)
def rating_order(order_id: int):
    """Rate a delivered order: quality, timeliness and communication, and a comment."""
    order = get_order_for_school(order_id, current_user.school_id)
    back = url_for("marketplace.order_detail", order_id=order.id)
    if services.rating_of_order(order.id) is not None:
        flash(f"Your school has already rated order {order.id}.", "success")
        return redirect(back)
    form = RatingForm()
    problem = rules.order_rating_problem(order.status.value, already_rated=False)
    if problem is None:
        outcome = submit(
            form,
            lambda: services.rate_order(
                order_id, current_user.school_id, form.to_input(), current_user
            ),
        )
        if outcome.done:
            flash(f"Thank you: your rating of order {order_id} is saved.", "success")
            return redirect(back)
        status = outcome.status
    else:
        status = 409
    return _rate_page(
        form,
        status,
        problem=problem,
        heading=f"Rate order {order.id}",
        what=f"{order.service.name} from {order.provider.name}",
        back=back,
        crumbs=[
            ("Orders", url_for("marketplace.orders")),
            (f"Order {order.id}", back),
            ("Rate", None),
        ],
    )


@bp.route(
    "/supply/timesheets/<int:timesheet_id>/rating",
    methods=["GET", "POST"],
    endpoint="rating_timesheet",
)
@roles_required(*SCHOOL)
def rating_timesheet(timesheet_id: int):
    """Rate an approved week of supply cover."""
    sheet = get_timesheet_for_school(timesheet_id, current_user.school_id)
    back = url_for("marketplace.supply_booking", booking_id=sheet.booking_id)
    if services.rated_timesheet_ids([sheet.id]):
        flash("Your school has already rated this week.", "success")
        return redirect(back)
    form = RatingForm()
    problem = rules.timesheet_rating_problem(sheet.status.value, already_rated=False)
    if problem is None:
        outcome = submit(
            form,
            lambda: services.rate_timesheet(
                timesheet_id, current_user.school_id, form.to_input(), current_user
            ),
        )
        if outcome.done:
            flash("Thank you: your rating of this week's cover is saved.", "success")
            return redirect(back)
        status = outcome.status
    else:
        status = 409
    booking = sheet.booking
    return _rate_page(
        form,
        status,
        problem=problem,
        heading=f"Rate the week of {sheet.week_starting:%-d %B %Y}",
        what=f"Supply cover by {booking.worker.name} from {booking.provider.name}",
        back=back,
        crumbs=[
            ("Supply cover", url_for("marketplace.supply_home")),
            (f"Booking {booking.id}", back),
            ("Rate", None),
        ],
    )


@bp.route("/offers/<int:offer_id>/ratings", endpoint="offer_ratings")
@roles_required(*Role)
def offer_ratings(offer_id: int):
    """An offer's ratings: averages from three ratings up, comments without names."""
    offer = db.session.get(Offer, offer_id)
    if offer is None or offer.status is OfferStatus.DRAFT:
        abort(404)
    summary = services.summary_for_offer(offer.id)
    return render_template(
        "marketplace/ratings/offer_ratings.html",
        offer=offer,
        summary=summary,
        comments=services.offer_comments(offer.id, summary),
    )


def _seller_id() -> int:
    provider = provider_for_user(current_user)
    if provider is None:
        abort(403)
    return provider.id


def _reply_form(rating: Rating) -> ReplyForm:
    return ReplyForm(prefix=f"rating-{rating.id}")


def _provider_page(
    provider_id: int,
    forms: dict[int, ReplyForm] | None = None,
    status: int = 200,
    failed: ReplyForm | None = None,
) -> tuple[str, int]:
    ratings = services.provider_ratings(provider_id)
    forms = forms or {}
    return (
        render_template(
            "marketplace/ratings/provider_ratings.html",
            ratings=ratings,
            failed=failed,
            summary=services.summary_for_provider(provider_id),
            reply_forms={
                r.id: forms.get(r.id) or _reply_form(r) for r in ratings if not r.replied_at
            },
        ),
        status,
    )


@bp.route("/provider/ratings", endpoint="provider_ratings")
@roles_required(*SELLERS)
def provider_ratings():
    """Your ratings from schools (without their names), with a reply form for each."""
    return _provider_page(_seller_id())


@bp.route("/provider/ratings/<int:rating_id>/reply", methods=["POST"], endpoint="rating_reply")
@roles_required(*SELLERS)
def rating_reply(rating_id: int):
    """Reply to a rating, once and publicly."""
    provider_id = _seller_id()
    rating = services.get_rating_for_provider(rating_id, provider_id)
    form = _reply_form(rating)
    outcome = submit(
        form, lambda: services.reply(rating_id, provider_id, form.reply.data or "", current_user)
    )
    if outcome.done:
        flash("Your reply is published with the rating.", "success")
        return redirect(url_for("marketplace.provider_ratings") + f"#rating-{rating_id}")
    # A clash (already replied) has no field: the page's error summary says it at the top.
    return _provider_page(provider_id, {rating_id: form}, outcome.status, failed=form)
