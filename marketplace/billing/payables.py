"""What the partnership owes each provider: delivered work less the partnership's fee.

Every figure is computed in SQL. Per order: `gross` is the order's value net of VAT (for an
order cancelled after delivery, the charge the school still pays), `fee` is
PARTNERSHIP_FEE_BP of it rounded half up to the penny, and `owed` = gross − fee. Supply cover
is owed to the agency the same way per approved timesheet: `gross` is the week's charge (pay +
on-costs + agency fee, net of VAT). Ledger rows are sums of those per provider and term, so
they add up to the penny.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from app import partnership
from app.calendar import Term
from app.extensions import db
from app.models import Provider, School
from app.money import pence_to_pounds_text
from marketplace.catalogue.models import Service
from marketplace.orders.models import Order, OrderKind, OrderStatus
from marketplace.supply.models import (
    Booking,
    SupplyWorker,
    Timesheet,
    TimesheetLine,
    TimesheetStatus,
)

DEFAULT_FEE_BP = 500  # 5%


def fee_bp() -> int:
    """The partnership's fee in basis points, from its settings (PARTNERSHIP_FEE_BP in the
    config until there are settings)."""
    bp = partnership.details().fee_bp
    if not 0 <= bp <= 10_000:
        raise ValueError("PARTNERSHIP_FEE_BP must be between 0 and 10000")
    return bp


def _gross() -> sa.ColumnElement[int]:
    return sa.case(
        (Order.status == OrderStatus.CANCELLED, Order.cancellation_charge_pence),
        else_=Order.total_pence,
    )


def _payable_conditions() -> list[sa.ColumnElement[bool]]:
    return [
        sa.or_(
            Order.status.in_([OrderStatus.DELIVERED, OrderStatus.INVOICED]),
            sa.and_(Order.status == OrderStatus.CANCELLED, Order.delivered_at.is_not(None)),
        ),
        _gross() > 0,
    ]


def _items(bp: int, provider_id: int | None = None, period: str | None = None) -> sa.Select:
    gross = sa.cast(_gross(), sa.BigInteger)
    fee = (gross * bp + 5_000) // 10_000  # half up, for amounts that are never negative
    stmt = (
        sa.select(
            Order.id.label("order_id"),
            Order.provider_id.label("provider_id"),
            Provider.name.label("provider_name"),
            Order.term_key.label("period"),
            Order.kind.label("kind"),
            Order.status.label("status"),
            School.name.label("school_name"),
            Service.name.label("service_name"),
            Order.delivered_at.label("delivered_at"),
            gross.label("gross_pence"),
            fee.label("fee_pence"),
            (gross - fee).label("owed_pence"),
        )
        .join(Provider, Provider.id == Order.provider_id)
        .join(School, School.id == Order.school_id)
        .join(Service, Service.id == Order.service_id)
        .where(*_payable_conditions())
    )
    if provider_id is not None:
        stmt = stmt.where(Order.provider_id == provider_id)
    if period is not None:
        stmt = stmt.where(Order.term_key == period)
    return stmt


@dataclass(frozen=True)
class PayableItem:
    """One delivered order or call-off and what the provider is owed for it."""

    order_id: int
    provider_id: int
    provider_name: str
    period: str
    kind: OrderKind
    status: OrderStatus
    school_name: str
    service_name: str
    delivered_at: datetime | None
    gross_pence: int
    fee_pence: int
    owed_pence: int


@dataclass(frozen=True)
class LedgerRow:
    """One provider's delivered work in one term."""

    provider_id: int
    provider_name: str
    period: str
    orders: int
    gross_pence: int
    fee_pence: int
    owed_pence: int

    @property
    def period_label(self) -> str:
        return period_label(self.period)


def period_label(key: str) -> str:
    try:
        return Term.parse(key).label
    except ValueError:
        return key


def items(
    bp: int, *, provider_id: int | None = None, period: str | None = None
) -> list[PayableItem]:
    """Each payable order, by provider, term and order."""
    sub = _items(bp, provider_id, period).subquery()
    rows = db.session.execute(
        sa.select(sub).order_by(sub.c.provider_name, sub.c.period, sub.c.order_id)
    )
    return [
        PayableItem(
            order_id=r.order_id,
            provider_id=r.provider_id,
            provider_name=r.provider_name,
            period=r.period,
            kind=OrderKind(r.kind),
            status=OrderStatus(r.status),
            school_name=r.school_name,
            service_name=r.service_name,
            delivered_at=r.delivered_at,
            gross_pence=int(r.gross_pence),
            fee_pence=int(r.fee_pence),
            owed_pence=int(r.owed_pence),
        )
        for r in rows
    ]


def _supply_items(bp: int, provider_id: int | None = None) -> sa.Select:
    """Approved supply timesheets: what each agency is owed per week, as payable items."""
    week = (
        sa.select(
            TimesheetLine.timesheet_id.label("timesheet_id"),
            sa.cast(sa.func.sum(TimesheetLine.charge_pence), sa.BigInteger).label("gross"),
        )
        .group_by(TimesheetLine.timesheet_id)
        .subquery()
    )
    fee = (week.c.gross * bp + 5_000) // 10_000
    stmt = (
        sa.select(
            Timesheet.id.label("timesheet_id"),
            Timesheet.provider_id.label("provider_id"),
            Provider.name.label("provider_name"),
            Timesheet.term_key.label("period"),
            School.name.label("school_name"),
            SupplyWorker.name.label("worker_name"),
            Timesheet.week_starting.label("week_starting"),
            week.c.gross.label("gross_pence"),
            fee.label("fee_pence"),
            (week.c.gross - fee).label("owed_pence"),
        )
        .join(week, week.c.timesheet_id == Timesheet.id)
        .join(Provider, Provider.id == Timesheet.provider_id)
        .join(School, School.id == Timesheet.school_id)
        .join(Booking, Booking.id == Timesheet.booking_id)
        .join(SupplyWorker, SupplyWorker.id == Booking.worker_id)
        .where(Timesheet.status == TimesheetStatus.APPROVED)
    )
    if provider_id is not None:
        stmt = stmt.where(Timesheet.provider_id == provider_id)
    return stmt


@dataclass(frozen=True)
class SupplyPayable:
    """One agency's approved supply timesheet and what the agency is owed for it."""

    timesheet_id: int
    provider_id: int
    provider_name: str
    period: str
    school_name: str
    worker_name: str
    week_starting: date
    gross_pence: int
    fee_pence: int
    owed_pence: int


def supply_items(bp: int, *, provider_id: int | None = None) -> list[SupplyPayable]:
    """Each approved supply timesheet owed to an agency, by agency, term and week."""
    sub = _supply_items(bp, provider_id).subquery()
    rows = db.session.execute(
        sa.select(sub).order_by(
            sub.c.provider_name, sub.c.period, sub.c.week_starting, sub.c.timesheet_id
        )
    )
    return [
        SupplyPayable(
            r.timesheet_id,
            r.provider_id,
            r.provider_name,
            r.period,
            r.school_name,
            r.worker_name,
            r.week_starting,
            int(r.gross_pence),
            int(r.fee_pence),
            int(r.owed_pence),
        )
        for r in rows
    ]


def ledger(bp: int, *, provider_id: int | None = None) -> list[LedgerRow]:
    """What each provider is owed per term: sums of the per-order (and per-timesheet)
    figures, in SQL."""
    orders = _items(bp, provider_id).subquery()
    weeks = _supply_items(bp, provider_id).subquery()
    sub = sa.union_all(
        sa.select(
            orders.c.order_id,
            orders.c.provider_id,
            orders.c.provider_name,
            orders.c.period,
            orders.c.gross_pence,
            orders.c.fee_pence,
            orders.c.owed_pence,
        ),
        sa.select(
            weeks.c.timesheet_id,
            weeks.c.provider_id,
            weeks.c.provider_name,
            weeks.c.period,
            weeks.c.gross_pence,
            weeks.c.fee_pence,
            weeks.c.owed_pence,
        ),
    ).subquery()
    stmt = (
        sa.select(
            sub.c.provider_id,
            sub.c.provider_name,
            sub.c.period,
            sa.func.count(sub.c.order_id),
            sa.func.sum(sub.c.gross_pence),
            sa.func.sum(sub.c.fee_pence),
            sa.func.sum(sub.c.owed_pence),
        )
        .group_by(sub.c.provider_id, sub.c.provider_name, sub.c.period)
        .order_by(sub.c.provider_name, sub.c.period.desc())
    )
    return [
        LedgerRow(pid, name, period, int(n), int(gross), int(fee), int(owed))
        for pid, name, period, n, gross, fee, owed in db.session.execute(stmt)
    ]


@dataclass(frozen=True)
class Totals:
    orders: int
    gross_pence: int
    fee_pence: int
    owed_pence: int


def totals(rows: Iterable[LedgerRow]) -> Totals:
    """Column totals of ledger rows (for a page's totals row)."""
    rows = list(rows)
    return Totals(
        sum(r.orders for r in rows),
        sum(r.gross_pence for r in rows),
        sum(r.fee_pence for r in rows),
        sum(r.owed_pence for r in rows),
    )


CSV_HEADER = [
    "Provider",
    "Term",
    "Order",
    "Kind",
    "School",
    "Service",
    "Status",
    "Delivered on",
    "Value (£, excl. VAT)",
    "Partnership fee (£)",
    "Owed to provider (£)",
    "Due on",
    "Paid to provider (£)",
]


@dataclass(frozen=True)
class PaymentLine:
    """A payment out to a provider, as a row of the payables CSV."""

    provider_name: str
    paid_on: date
    reference: str
    source: str
    amount_pence: int


def csv_text(
    rows: Iterable[PayableItem],
    supply: Iterable[SupplyPayable] = (),
    payments: Iterable[PaymentLine] = (),
    due: Mapping[str, date] | None = None,
) -> str:
    """The payables as CSV for the finance team, one row per order (and per approved supply
    timesheet: kind `supply`, its id in the Order column), amounts in pounds; then one row per
    payment out (kind `payment`, its bank reference in the Service column, its amount under
    Paid). `due` gives each item's due date by key ("order-40", "timesheet-7")."""
    due = due or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for item in rows:
        writer.writerow(
            [
                item.provider_name,
                item.period,
                item.order_id,
                item.kind.value,
                item.school_name,
                item.service_name,
                item.status.value,
                item.delivered_at.date().isoformat() if item.delivered_at else "",
                pence_to_pounds_text(item.gross_pence),
                pence_to_pounds_text(item.fee_pence),
                pence_to_pounds_text(item.owed_pence),
                _day(due.get(f"order-{item.order_id}")),
                "",
            ]
        )
    for week in supply:
        writer.writerow(
            [
                week.provider_name,
                week.period,
                week.timesheet_id,
                "supply",
                week.school_name,
                f"Supply cover: {week.worker_name}, week of {week.week_starting.isoformat()}",
                "approved",
                week.week_starting.isoformat(),
                pence_to_pounds_text(week.gross_pence),
                pence_to_pounds_text(week.fee_pence),
                pence_to_pounds_text(week.owed_pence),
                _day(due.get(f"timesheet-{week.timesheet_id}")),
                "",
            ]
        )
    for payment in payments:
        writer.writerow(
            [
                payment.provider_name,
                "",
                "",
                "payment",
                "",
                f"Payment {payment.reference}",
                payment.source,
                payment.paid_on.isoformat(),
                "",
                "",
                "",
                "",
                pence_to_pounds_text(payment.amount_pence),
            ]
        )
    return out.getvalue()


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""
