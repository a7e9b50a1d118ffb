"""Money through the partnership: its income by stream, what schools booked, a provider's orders.

Each function is one dashboard table, one SQL query (app.dashboards.table says what "booked"
means and how years are counted).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from app.calendar import AcademicYear
from app.dashboards.table import (
    COUNT,
    MONEY,
    Column,
    Table,
    academic_start_year,
    as_int,
    booked_value,
    in_year,
    is_booked,
    subscription_pence,
    year_of_term_key,
)
from app.extensions import db
from app.models import Grant, Membership, MembershipTerm
from marketplace.billing import payables
from marketplace.catalogue.models import Service, ServiceCategory
from marketplace.orders.labels import STATUS_TEXT
from marketplace.orders.models import Order, OrderStatus


def income_by_stream(years: Sequence[AcademicYear], fee_bp: int | None = None) -> Table:
    """The partnership's income per academic year (subscriptions, its fee on traded services,
    council match, grants), and beside it the gross value of traded services, which is the
    providers' money passing through, not income. `fee_bp`: PARTNERSHIP_FEE_BP if not given."""
    fee = payables.fee_bp() if fee_bp is None else fee_bp
    wanted = [y.start_year for y in years]
    subs = db.session.execute(
        sa.select(
            MembershipTerm.start_year,
            sa.func.sum(subscription_pence()),
            sa.func.sum((subscription_pence() * MembershipTerm.council_match_bp + 5_000) // 10_000),
        )
        .join(Membership, Membership.term_id == MembershipTerm.id)
        .where(MembershipTerm.start_year.in_(wanted))
        .group_by(MembershipTerm.start_year)
    ).all()
    # Grouped in an outer query: PostgreSQL does not match a GROUP BY expression whose bound
    # parameters differ from the SELECT's.
    booked = (
        sa.select(
            year_of_term_key().label("year"),
            booked_value().label("value"),
            # The fee on each order, rounded half up, as providers' payables work it out.
            ((booked_value() * fee + 5_000) // 10_000).label("fee"),
        )
        .where(is_booked(), year_of_term_key().in_(wanted))
        .subquery()
    )
    traded = db.session.execute(
        sa.select(booked.c.year, sa.func.sum(booked.c.fee), sa.func.sum(booked.c.value)).group_by(
            booked.c.year
        )
    ).all()
    received = (
        sa.select(
            academic_start_year(Grant.received_on).label("year"),
            Grant.amount_pence.label("amount"),
        )
    ).subquery()
    grants = db.session.execute(
        sa.select(received.c.year, sa.func.sum(received.c.amount))
        .where(received.c.year.in_(wanted))
        .group_by(received.c.year)
    ).all()
    by_year: dict[int, list[int]] = {y: [0, 0, 0, 0] for y in wanted}
    gross: dict[int, int] = dict.fromkeys(wanted, 0)
    for year, subscription, match in subs:
        by_year[int(year)][0] = as_int(subscription)
        by_year[int(year)][2] = as_int(match)
    for year, fees, value in traded:
        by_year[int(year)][1] = as_int(fees)
        gross[int(year)] = as_int(value)
    for year, value in grants:
        by_year[int(year)][3] = as_int(value)
    rows = tuple(
        (AcademicYear(y).label, *by_year[y], sum(by_year[y]), gross[y]) for y in sorted(wanted)
    )
    return Table(
        "income-by-stream",
        "Income by stream",
        (
            Column("Academic year"),
            Column("Subscriptions", MONEY),
            Column("Traded-service fees", MONEY),
            Column("Council match", MONEY),
            Column("Grants", MONEY),
            Column("Total", MONEY),
            Column("Gross traded value", MONEY),
        ),
        rows,
        "Subscriptions: each member school's pupils × the year's rate, capped. Traded-service "
        f"fees: the partnership's fee ({fee / 100:g}%) on booked orders and call-offs for the "
        "year's terms. Council match: the council's share of each subscription. Grants: grants "
        "and commissions received in the year. Total: all of these. Gross traded value: what "
        "those orders and call-offs are worth, most of it owed to providers (not income).",
    )


def spend_by_category(year: AcademicYear, school_id: int | None = None) -> Table:
    """What schools booked in the year, by service category."""
    stmt = (
        sa.select(ServiceCategory.name, sa.func.sum(booked_value()), sa.func.count(Order.id))
        .join(Service, Service.id == Order.service_id)
        .join(ServiceCategory, ServiceCategory.id == Service.category_id)
        .where(is_booked(), in_year(year))
        .group_by(ServiceCategory.id, ServiceCategory.name)
        .order_by(sa.func.sum(booked_value()).desc(), ServiceCategory.name)
    )
    if school_id is not None:
        stmt = stmt.where(Order.school_id == school_id)
    rows = tuple(
        (str(category), as_int(value), as_int(n)) for category, value, n in db.session.execute(stmt)
    )
    return Table(
        "spend-by-category",
        f"Spend by category, {year.label}",
        (Column("Category"), Column("Spend", MONEY), Column("Orders", COUNT)),
        rows,
        "Booked orders and call-offs for the year's terms, before VAT.",
    )


def spend_by_service(year: AcademicYear, school_id: int) -> Table:
    """What one school booked in the year, by service."""
    stmt = (
        sa.select(Service.name, sa.func.sum(booked_value()), sa.func.count(Order.id))
        .join(Service, Service.id == Order.service_id)
        .where(is_booked(), in_year(year), Order.school_id == school_id)
        .group_by(Service.name)
        .order_by(sa.func.sum(booked_value()).desc(), Service.name)
    )
    rows = tuple((name, as_int(value), as_int(n)) for name, value, n in db.session.execute(stmt))
    return Table(
        "spend-by-service",
        f"Spend by service, {year.label}",
        (Column("Service"), Column("Spend", MONEY), Column("Orders", COUNT)),
        rows,
        "Your booked orders and call-offs for the year's terms, before VAT.",
    )


def orders_by_status(provider_id: int, year: AcademicYear) -> Table:
    """A provider's orders and call-offs for the year's terms, by status."""
    stmt = (
        sa.select(Order.status, sa.func.count(Order.id), sa.func.sum(Order.total_pence))
        .where(Order.provider_id == provider_id, in_year(year), Order.status != OrderStatus.DRAFT)
        .group_by(Order.status)
    )
    found = {OrderStatus(s): (as_int(n), as_int(v)) for s, n, v in db.session.execute(stmt)}
    rows = tuple((STATUS_TEXT[status], *found[status]) for status in OrderStatus if status in found)
    return Table(
        "orders-by-status",
        f"Orders by status, {year.label}",
        (Column("Status"), Column("Orders", COUNT), Column("Value", MONEY)),
        rows,
        "Orders and call-offs for the year's terms (drafts are the schools' own until sent).",
    )
