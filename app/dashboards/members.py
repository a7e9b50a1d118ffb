"""Member schools: how many take part, a school's entitlements, its deadlines coming up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.calendar import AcademicYear, Term
from app.dashboards.table import (
    BOOKED,
    COUNT,
    DATE,
    PERCENT,
    SENT,
    Column,
    Table,
    as_int,
    in_year,
    share,
)
from app.extensions import db
from app.models import Membership, MembershipTerm
from marketplace.catalogue.models import Service
from marketplace.entitlements.services import entitlements_for_school
from marketplace.offers.models import Offer
from marketplace.orders.models import Order, OrderKind
from procurement.rounds.models import BuyingRound, Pledge, RoundStatus
from procurement.tenders.models import Tender, TenderSchool, TenderStatus

ENGAGED = "Ordered or pledged"  # the engagement table's row of schools that did either


def engagement(year: AcademicYear) -> Table:
    """How many member schools ordered or pledged in the year, of how many members."""
    members = (
        sa.select(Membership.school_id)
        .join(MembershipTerm, MembershipTerm.id == Membership.term_id)
        .where(MembershipTerm.start_year == year.start_year)
    )
    ordering = sa.select(Order.school_id).where(Order.status.in_(SENT), in_year(year))
    pledging = sa.select(Pledge.school_id).where(Pledge.term_key.like(f"{year.start_year}-%"))
    member_count = sa.select(sa.func.count()).select_from(members.subquery()).scalar_subquery()
    ordered = (
        sa.select(sa.func.count(sa.distinct(Order.school_id)))
        .where(Order.status.in_(SENT), in_year(year), Order.school_id.in_(members))
        .scalar_subquery()
    )
    pledged = (
        sa.select(sa.func.count(sa.distinct(Pledge.school_id)))
        .where(Pledge.term_key.like(f"{year.start_year}-%"), Pledge.school_id.in_(members))
        .scalar_subquery()
    )
    either = (
        sa.select(sa.func.count())
        .select_from(sa.union(ordering, pledging).subquery("engaged"))
        .where(sa.literal_column("engaged.school_id").in_(members))
        .scalar_subquery()
    )
    n_members, n_ordered, n_pledged, n_either = db.session.execute(
        sa.select(member_count, ordered, pledged, either)
    ).one()
    n_members = as_int(n_members)

    rows = tuple(
        (label, as_int(n), share(as_int(n), n_members))
        for label, n in (
            ("Ordered a service", n_ordered),
            ("Pledged into a buying round", n_pledged),
            (ENGAGED, n_either),
        )
    )
    return Table(
        "engagement",
        f"Engagement of member schools, {year.label}",
        (Column("Member schools who"), Column("Schools", COUNT), Column("Share", PERCENT)),
        rows,
        f"Of {n_members} member schools in {year.label}: orders sent for the year's terms "
        "(drafts and turned-down orders do not count) and pledges into its buying rounds.",
        extra={"members": n_members},
    )


def entitlements(school_id: int, year: AcademicYear) -> Table:
    """The core services the school's membership includes, used and left."""
    lines = entitlements_for_school(school_id, year.start_year) or []
    rows = tuple((line.service.name, line.included, line.used, line.left) for line in lines)
    return Table(
        "entitlements",
        f"Your membership's entitlements, {year.label}",
        (
            Column("Service"),
            Column("Included", COUNT),
            Column("Used", COUNT),
            Column("Left", COUNT),
        ),
        rows,
        "What the year's subscription includes of the core services, and how much of it your "
        "orders have used.",
    )


@dataclass(frozen=True)
class DeadlineSources:
    """What a school's deadlines are worked out from, as plain values: the data only, so they
    can be kept in the figures cache (app.cache) until the next write; which of them are still
    to come depends on the time, so `deadlines` chooses on every request."""

    rounds: tuple[tuple[str, datetime], ...]  # open rounds: title, pledge deadline
    tenders: tuple[tuple[str, datetime], ...]  # the school's open tenders: title, deadline
    # The school's booked orders with a notice period: id, service, term key, notice days.
    orders: tuple[tuple[int, str, str, int], ...]


def deadline_sources(school_id: int) -> DeadlineSources:
    rounds = db.session.execute(
        sa.select(BuyingRound.title, BuyingRound.pledge_deadline_at).where(
            BuyingRound.status == RoundStatus.OPEN
        )
    )
    tenders = db.session.execute(
        sa.select(Tender.title, Tender.deadline_at)
        .join(TenderSchool, TenderSchool.tender_id == Tender.id)
        .where(
            TenderSchool.school_id == school_id,
            Tender.status == TenderStatus.OPEN,
        )
    )
    orders = db.session.execute(
        sa.select(Order.id, Service.name, Order.term_key, Offer.notice_days)
        .join(Service, Service.id == Order.service_id)
        .join(Offer, Offer.id == Order.offer_id)
        .where(
            Order.school_id == school_id,
            Order.status.in_(BOOKED),
            Order.kind == OrderKind.ORDER,
            Offer.notice_days > 0,
        )
    )
    return DeadlineSources(
        rounds=tuple((title, deadline) for title, deadline in rounds),
        tenders=tuple((title, deadline) for title, deadline in tenders),
        orders=tuple(
            (order_id, service, term_key, notice_days)
            for order_id, service, term_key, notice_days in orders
        ),
    )


def deadlines(
    school_id: int, now: datetime, today: date, sources: DeadlineSources | None = None
) -> Table:
    """Coming up for a school: pledge deadlines, tender deadlines, the last days to cancel.
    `sources`: what they are worked out from (`deadline_sources`), read here if not given."""
    if sources is None:
        sources = deadline_sources(school_id)
    rows: list[tuple[Any, ...]] = []
    for title, deadline in sources.rounds:
        if deadline > now:
            rows.append((deadline.date(), "Pledges close", title))
    for title, deadline in sources.tenders:
        if deadline > now:
            rows.append((deadline.date(), "Tender closes for bids", title))
    # The last day an order can be cancelled: its notice must end by the end of its term.
    for order_id, service, term_key, notice_days in sources.orders:
        last_day = Term.parse(term_key).ends_on - timedelta(days=notice_days)
        if today <= last_day <= today + timedelta(days=120):
            rows.append(
                (
                    last_day,
                    "Last day to cancel",
                    f"Order {order_id}: {service} ({notice_days} days’ notice)",
                )
            )
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    return Table(
        "deadlines",
        "Deadlines coming up",
        (Column("Date", DATE), Column("What"), Column("Detail")),
        tuple(rows),
        "Open buying rounds, tenders your school takes part in, and the last day each of your "
        "confirmed orders can still be cancelled under its notice period (next four months).",
    )
