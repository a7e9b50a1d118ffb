"""Member and non-member prices from the school's side: whether it is a member in an academic
year, and what membership would have saved it on its own orders that year."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from app.calendar import AcademicYear, Term
from app.extensions import db
from marketplace.entitlements.services import membership_for_year, memberships_by_year
from marketplace.orders.models import Order, OrderStatus

# Orders that never became a purchase: their uplift was not paid.
_NOT_BOUGHT = (
    OrderStatus.DRAFT,
    OrderStatus.CANCELLED,
    OrderStatus.DECLINED,
    OrderStatus.REJECTED,
)


def is_member(school_id: int, start_year: int) -> bool:
    """A school is a member in an academic year when it has a membership for that year."""
    return membership_for_year(school_id, start_year) is not None


def member_years(school_id: int, start_years: Collection[int]) -> frozenset[int]:
    """Of these academic years (by start year), those the school is a member in: one statement
    for a page that asks about several."""
    return frozenset(memberships_by_year(school_id, start_years))


def this_and_next_year(today: date) -> tuple[AcademicYear, AcademicYear]:
    this_year = Term.containing(today).academic_year
    return this_year, AcademicYear(this_year.start_year + 1)


@dataclass(frozen=True)
class MembershipChange:
    """The school's membership is not the same next academic year as this one: terms from
    `year.starts_on` are priced at member prices (`member`) or at non-member prices."""

    year: AcademicYear
    member: bool


def membership_change(
    school_id: int, today: date, members: Collection[int] | None = None
) -> MembershipChange | None:
    """How the school's prices change next academic year, or None when they do not (orders are
    priced by the membership of their term's year, not today's).

    `members`: the years (by start year) the school is a member in, at least this one and the
    next, when the caller has read them (`member_years`); else they are read here."""
    this_year, next_year = this_and_next_year(today)
    if members is None:
        members = member_years(school_id, (this_year.start_year, next_year.start_year))
    member_next = next_year.start_year in members
    if (this_year.start_year in members) == member_next:
        return None
    return MembershipChange(year=next_year, member=member_next)


@dataclass(frozen=True)
class MembershipSaving:
    """What a non-member school paid over member prices on its orders in one academic year.

    `uplift_pence` sums each order's non-member uplift (charged units × the offer's uplift
    per unit, as priced when ordered), over orders placed and not cancelled, declined or
    rejected; `orders` counts those orders that carried an uplift.
    """

    year: AcademicYear
    uplift_pence: int
    orders: int


def membership_saving(
    school_id: int, today: date, members: Collection[int] | None = None
) -> MembershipSaving | None:
    """For a school that is not a member this academic year, what membership would have saved
    it this year; None for a member. `members` as for `membership_change` (this year at least)."""
    year = Term.containing(today).academic_year
    if is_member(school_id, year.start_year) if members is None else year.start_year in members:
        return None
    uplift, orders = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(Order.non_member_uplift_pence), 0),
            sa.func.count(Order.id),
        ).where(
            Order.school_id == school_id,
            Order.term_key.in_([term.key for term in year.terms()]),
            Order.status.not_in(_NOT_BOUGHT),
            Order.non_member_uplift_pence > 0,
        )
    ).one()
    return MembershipSaving(year=year, uplift_pence=int(uplift), orders=int(orders))
