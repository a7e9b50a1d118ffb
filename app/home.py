"""Home pages per role and the school page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from app import schools as school_service
from app.calendar import AcademicYear
from app.extensions import count_rows, db
from app.models import Membership, MembershipTerm, Provider, Role, School, User
from app.time import london_today, utcnow
from marketplace.catalogue.models import Service
from marketplace.offers.models import Offer, OfferStatus
from marketplace.orders import approvals
from marketplace.orders.access import trust_school_ids
from marketplace.orders.models import Order, OrderStatus
from procurement.rounds.approvals import awaiting_in_open_rounds
from procurement.rounds.notices import home_panel

bp = Blueprint("home", __name__)


def this_academic_year() -> AcademicYear:
    return AcademicYear.containing(london_today())


def get_school_for_user(school_id: int, user: User) -> School:
    """Load a school the user may see: the partnership sees all; school staff only their own;
    a trust's finance lead the trust's schools."""
    if user.role in (Role.SBM, Role.HEAD, Role.GOVERNOR) and user.school_id != school_id:
        abort(404)
    if user.role is Role.PROVIDER:
        abort(404)
    school = db.session.get(School, school_id)
    if school is None:
        abort(404)
    if user.role is Role.TRUST and (user.trust_id is None or school.trust_id != user.trust_id):
        abort(404)
    return school


@bp.route("/")
def index():
    """Send visitors to sign in, and users to their home page."""
    if current_user.is_authenticated:
        return redirect(url_for("home.home"))
    return redirect(url_for("auth.login"))


@bp.route("/home")
@login_required
def home():
    """What this role does next."""
    year = this_academic_year()
    context: dict[str, Any] = {"year": year}
    role = current_user.role
    if role in (Role.SBM, Role.HEAD):
        context.update(_school_home(current_user.school, year))
        if role is Role.HEAD:
            context["awaiting_approval"] = approvals.waiting_for(current_user)
    elif role is Role.GOVERNOR:
        context.update(
            school=current_user.school, awaiting_approval=approvals.waiting_for(current_user)
        )
    elif role is Role.TRUST:
        context.update(_trust_home(current_user))
    elif role is Role.PROVIDER:
        context.update(_provider_home(current_user.provider))
    else:
        context.update(_partnership_home(year))
    return render_template(f"app/home/home_{role.value}.html", **context)


def _order_counts(*conditions: Any) -> dict[OrderStatus, int]:
    """How many orders in each status, in the order an order goes through them."""
    rows = db.session.execute(
        sa.select(Order.status, sa.func.count()).where(*conditions).group_by(Order.status)
    )
    found: dict[OrderStatus, int] = {status: count for status, count in rows}
    return {status: found[status] for status in OrderStatus if status in found}


def _school_home(school: School, year: AcademicYear) -> dict[str, Any]:
    membership = school_service.membership_of(school.id, year.start_year)
    breakdown = school_service.subscription_for(membership) if membership else None
    awaiting_approval = list(
        db.session.scalars(
            sa.select(Order)
            .where(
                Order.school_id == school.id,
                Order.status == OrderStatus.SUBMITTED,
                Order.needs_approval(school.approval_threshold_pence),
            )
            .order_by(Order.submitted_at)
        )
    )
    return {
        "school": school,
        "membership": membership,
        "breakdown": breakdown,
        "order_counts": _order_counts(Order.school_id == school.id),
        "awaiting_approval": awaiting_approval,
        # Pledges over the threshold waiting for the head before their round's deadline.
        "pledges_awaiting": awaiting_in_open_rounds(school.id, utcnow()),
        # Buying rounds open for pledges and unread round notices (app/home/_school_rounds.html).
        "round_panel": home_panel(school.id, utcnow()),
    }


def _trust_home(user: User) -> dict[str, Any]:
    trust = user.trust
    assert trust is not None
    return {
        "trust": trust,
        "awaiting_approval": approvals.waiting_for(user),
        "order_counts": _order_counts(Order.school_id.in_(trust_school_ids(trust.id))),
    }


def _provider_home(provider: Provider) -> dict[str, Any]:
    offers_live = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Offer)
        .where(Offer.provider_id == provider.id, Offer.status == OfferStatus.LIVE)
    )
    to_confirm = list(
        db.session.scalars(
            sa.select(Order)
            .where(Order.provider_id == provider.id, Order.status == OrderStatus.APPROVED)
            .order_by(Order.submitted_at)
            .limit(10)
        )
    )
    return {
        "provider": provider,
        "offers_live": offers_live,
        "to_confirm": to_confirm,
        "order_counts": _order_counts(Order.provider_id == provider.id),
    }


def _partnership_home(year: AcademicYear) -> dict[str, Any]:
    count = sa.func.count()
    term = school_service.current_term(year.start_year)
    members = count_rows(sa.select(School.id).where(School.is_member.is_(True)))
    enrolled = 0
    if term is not None:
        enrolled = count_rows(sa.select(Membership.id).where(Membership.term_id == term.id))
    return {
        "term": term,
        "members": members,
        "enrolled": enrolled,
        "schools_total": db.session.scalar(sa.select(count).select_from(School)),
        "needs_pupils": db.session.scalar(
            sa.select(count)
            .select_from(School)
            .where(School.is_member.is_(True), School.needs_pupil_count.is_(True))
        ),
        "providers": db.session.scalar(sa.select(count).select_from(Provider)),
        "services": db.session.scalar(sa.select(count).select_from(Service)),
        "offers_live": db.session.scalar(
            sa.select(count).select_from(Offer).where(Offer.status == OfferStatus.LIVE)
        ),
        "users": db.session.scalar(sa.select(count).select_from(User)),
        "order_counts": _order_counts(),
    }


@bp.route("/my-school")
@login_required
def my_school():
    """The signed-in SBM's, head's or second approver's own school."""
    if current_user.school_id is None:
        abort(404)
    return redirect(url_for("home.school_detail", school_id=current_user.school_id))


@bp.route("/schools/<int:school_id>")
@login_required
def school_detail(school_id: int):
    """A school's details and its subscription, with the working shown."""
    school = get_school_for_user(school_id, current_user)
    memberships = list(
        db.session.scalars(
            sa.select(Membership)
            .join(MembershipTerm)
            .where(Membership.school_id == school.id)
            .order_by(MembershipTerm.start_year.desc())
        )
    )
    rows = [(m, school_service.subscription_for(m)) for m in memberships]
    return render_template(
        "app/home/school_detail.html",
        school=school,
        memberships=rows,
        can_set_chain=approvals.may_set_chain(current_user, school),
    )
