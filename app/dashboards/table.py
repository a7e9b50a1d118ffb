"""A dashboard's table of figures, its CSV, and the SQL expressions the figures share.

Each figure on a dashboard is one `Table`, worked out by one SQL query in the module of its
subject (spend, savings, billing, members, supply): its columns, its rows (raw values: pence
as integers, counts, percentages as numbers) and the rule it was worked out by. Pages draw
charts and tables from a Table and the CSV download is the same Table written out, so the
three always agree.

Money is in pence. "Booked" orders are those a provider has confirmed or delivered (or that
were invoiced), plus what schools still pay for orders cancelled after confirming: the value
the partnership has committed to buy. Years are academic years (1 September – 31 August); an
order belongs to the year of its term.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app.calendar import AcademicYear
from app.extensions import db
from app.models import Membership, MembershipTerm
from marketplace.orders.models import Order, OrderStatus
from procurement.contracts.models import Contract, ContractSchool

BOOKED = (OrderStatus.CONFIRMED, OrderStatus.DELIVERED, OrderStatus.INVOICED)
# Orders a school has sent (engagement): anything past a draft that was not turned down.
SENT = (
    OrderStatus.SUBMITTED,
    OrderStatus.APPROVED,
    OrderStatus.CONFIRMED,
    OrderStatus.DELIVERED,
    OrderStatus.INVOICED,
)
MONEY = "pence"
COUNT = "count"
PERCENT = "percent"
TEXT = "text"
DATE = "date"


@dataclass(frozen=True)
class Column:
    heading: str
    kind: str = TEXT  # TEXT, MONEY (pence), COUNT, PERCENT or DATE


@dataclass(frozen=True)
class Table:
    """One table of figures: what a chart draws, the page lists and the CSV holds."""

    name: str  # its CSV's name, e.g. "spend-by-category"
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    rule: str = ""  # how the figures are worked out, in words
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headings(self) -> list[str]:
        return [c.heading for c in self.columns]

    def column(self, heading: str) -> list[Any]:
        """The values under a heading, row by row."""
        index = self.headings.index(heading)
        return [row[index] for row in self.rows]

    def total(self, heading: str) -> int:
        """The sum of a column (blanks count as 0)."""
        return sum(value or 0 for value in self.column(heading))

    def records(self) -> list[dict[str, Any]]:
        """Each row by its headings: {"Status": "Overdue", "Left to pay": 8_000, …}."""
        return [dict(zip(self.headings, row, strict=True)) for row in self.rows]

    def record(self, label: Any) -> dict[str, Any] | None:
        """The row whose first cell is `label` (a year, a kind of school…), by its headings."""
        return next((r for r in self.records() if r[self.columns[0].heading] == label), None)

    def csv_text(self) -> str:
        """The table as CSV: money as pounds with two decimals, dates as ISO dates."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.heading + (" (£)" if c.kind == MONEY else "") for c in self.columns])
        for row in self.rows:
            writer.writerow([_csv_value(v, c.kind) for v, c in zip(row, self.columns, strict=True)])
        return out.getvalue()


def _csv_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == MONEY:
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"
    if kind == PERCENT:
        return f"{value:.1f}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def as_int(value: Any) -> int:
    """A SQL aggregate as an int: a sum over no rows (NULL) is 0."""
    return int(value or 0)


def share(part: int, whole: int) -> float:
    """part as a percentage of whole, to one decimal place; 0.0 of nothing."""
    return round(100 * part / whole, 1) if whole else 0.0


def year_of_term_key() -> sa.ColumnElement[int]:
    """The academic year an order's term belongs to: the year in its key ("2026-spring")."""
    return sa.cast(sa.func.substr(Order.term_key, 1, 4), sa.Integer)


def in_year(year: AcademicYear) -> sa.ColumnElement[bool]:
    """Orders for the year's terms."""
    return Order.term_key.like(f"{year.start_year}-%")


def booked_value() -> sa.ColumnElement[int]:
    """What a booked order is worth: its total, or the charge kept when it was cancelled."""
    return sa.case(
        (Order.status == OrderStatus.CANCELLED, Order.cancellation_charge_pence),
        else_=Order.total_pence,
    )


def is_booked() -> sa.ColumnElement[bool]:
    """Orders confirmed, delivered or invoiced, and cancelled ones that kept a charge."""
    return sa.or_(
        Order.status.in_(BOOKED),
        sa.and_(Order.status == OrderStatus.CANCELLED, Order.cancellation_charge_pence > 0),
    )


def subscription_pence() -> sa.ColumnElement[int]:
    """pupils × rate, capped by the membership's cap or the year's default (app.membership)."""
    # 64-bit throughout: a subscription times the match in basis points passes 2³¹.
    uncapped = sa.cast(Membership.pupils_counted, sa.BigInteger) * sa.cast(
        MembershipTerm.rate_per_pupil_pence, sa.BigInteger
    )
    cap = sa.cast(
        sa.func.coalesce(Membership.cap_pence, MembershipTerm.default_cap_pence), sa.BigInteger
    )
    return sa.case((sa.and_(cap.is_not(None), uncapped > cap), cap), else_=uncapped)


def academic_start_year(column: Any) -> sa.ColumnElement[int]:
    """The academic year a date falls in: September onwards belongs to that year's."""
    year = sa.cast(sa.extract("year", column), sa.Integer)
    month = sa.cast(sa.extract("month", column), sa.Integer)
    return sa.case((month >= 9, year), else_=year - 1)


def contract_in_year(year: AcademicYear) -> sa.ColumnElement[bool]:
    """Contracts in force at some point of the year."""
    return sa.and_(Contract.starts_on <= year.ends_on, Contract.ends_on >= year.starts_on)


def schools_in_contract() -> sa.ScalarSelect[int]:
    """How many schools take part in the contract of the outer query's row."""
    return (
        sa.select(sa.func.count(ContractSchool.id))
        .where(ContractSchool.contract_id == Contract.id)
        .correlate(Contract)
        .scalar_subquery()
    )


def years_with_membership() -> list[AcademicYear]:
    """The academic years the partnership has subscription terms for, newest first."""
    return [
        AcademicYear(y)
        for y in db.session.scalars(
            sa.select(MembershipTerm.start_year).order_by(MembershipTerm.start_year.desc())
        )
    ]
