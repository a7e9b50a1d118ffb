"""Billing a trust that chose to be invoiced once: one invoice per billing run for all its
schools' due items — delivered orders, cancellation charges, call-offs whose term is over,
approved supply timesheets and supply cancellation fees — addressed to the trust, each line
naming its school (and carrying its `school_id`, so spend per school stays right).

The same guarantees as every other invoice: each order is on one invoice line only (unique
`order_id`), each timesheet and cancelled booking points at the one invoice that bills it,
and the invoice's `billing_key` (`trust-<id>-run-<run id>`) is unique, so a second run, or
two at once, cannot bill anything twice. Memberships stay on each school's own invoice (the
subscription is worked out per school, with its council match).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from app.calendar import Term
from app.extensions import db
from app.models import School, Trust
from app.time import format_date
from marketplace.billing import supply_invoices
from marketplace.billing.due import (
    billable_delivery,
    term_over,
    unbilled_cancellation_charges,
    unbilled_order_conditions,
)
from marketplace.billing.errors import BillingError
from marketplace.billing.invoicing import (
    _finish_invoice,
    _lock_orders,
    _mark_invoiced,
    _new_invoice,
    _Writing,
    cancellation_charge_line,
    order_line,
)
from marketplace.billing.models import Invoice, InvoiceKind, InvoiceLine
from marketplace.orders.models import Order, OrderKind, OrderStatus
from marketplace.supply.models import Booking, Timesheet


def invoiced_once_school_ids() -> sa.Select:
    """The schools of every trust that chose to be invoiced once."""
    return (
        sa.select(School.id)
        .join(Trust, Trust.id == School.trust_id)
        .where(Trust.invoice_once.is_(True))
    )


def not_invoiced_once(school_id: InstrumentedAttribute[int]) -> sa.ColumnElement[bool]:
    """The school (a column) is billed on its own invoices, not its trust's."""
    return school_id.not_in(invoiced_once_school_ids())


def trusts_invoiced_once() -> list[int]:
    """The trusts invoiced once that have schools, by id."""
    return list(
        db.session.scalars(
            sa.select(Trust.id)
            .where(Trust.invoice_once.is_(True), sa.exists().where(School.trust_id == Trust.id))
            .order_by(Trust.id)
        )
    )


def billing_key(trust_id: int, how: _Writing) -> str:
    """What the trust's invoice bills: the trust in one billing run (or, billed outside a run,
    on one day, numbered after the trust's earlier invoices of that day)."""
    if how.run_id is not None:
        return f"trust-{trust_id}-run-{how.run_id}"
    prefix = f"trust-{trust_id}-on-{how.as_of.isoformat()}"
    earlier = db.session.scalar(
        sa.select(sa.func.count(Invoice.id)).where(Invoice.billing_key.like(f"{prefix}%"))
    )
    return f"{prefix}-{(earlier or 0) + 1}"


@dataclass
class _Due:
    """The trust's due items, locked."""

    orders: list[Order]
    charges: list[Order]
    call_offs: list[Order]
    timesheets: list[Timesheet]
    cancellations: list[Booking]

    def __bool__(self) -> bool:
        return any((self.orders, self.charges, self.call_offs, self.timesheets, self.cancellations))


def _ids(stmt: sa.Select) -> list[int]:
    return list(db.session.scalars(stmt))


def _locked_due(trust_id: int, how: _Writing) -> _Due:
    schools = sa.select(School.id).where(School.trust_id == trust_id)
    of_trust = Order.school_id.in_(schools)
    orders = _lock_orders(
        _ids(
            sa.select(Order.id).where(
                *unbilled_order_conditions(OrderKind.ORDER, how.as_of), of_trust
            )
        ),
        *billable_delivery(how.as_of),
    )
    charges = _lock_orders(
        _ids(unbilled_cancellation_charges().with_only_columns(Order.id).where(of_trust)),
        Order.status == OrderStatus.CANCELLED,
        Order.cancellation_charge_pence > 0,
    )
    call_off_ids = [
        order_id
        for order_id, term_key in db.session.execute(
            sa.select(Order.id, Order.term_key).where(
                *unbilled_order_conditions(OrderKind.CALL_OFF, how.as_of), of_trust
            )
        )
        if term_over(term_key, how.as_of)
    ]
    call_offs = _lock_orders(call_off_ids, *billable_delivery(how.as_of))
    timesheets = list(
        db.session.scalars(
            sa.select(Timesheet)
            .where(
                *supply_invoices.unbilled_timesheet_conditions(), Timesheet.school_id.in_(schools)
            )
            .order_by(Timesheet.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    cancellations = list(
        db.session.scalars(
            sa.select(Booking)
            .where(
                *supply_invoices.unbilled_cancellation_conditions(),
                Booking.school_id.in_(schools),
            )
            .order_by(Booking.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    return _Due(orders, charges, call_offs, timesheets, cancellations)


def _named(line: InvoiceLine, school: School) -> InvoiceLine:
    line.description = f"{school.name}: {line.description}"[:500]
    return line


def bill_trust(trust_id: int, how: _Writing, problems: list[str]) -> int:
    """Write the trust's one invoice for everything its schools owe now (0 when nothing is
    due, or someone else just billed it). An order whose lines do not add up is left out and
    named in `problems`; the rest is billed."""
    trust = db.session.get(Trust, trust_id)
    if trust is None or not trust.invoice_once:
        return 0
    due = _locked_due(trust_id, how)
    if not due:
        db.session.rollback()
        return 0
    schools = {
        school.id: school
        for school in db.session.scalars(sa.select(School).where(School.trust_id == trust_id))
    }
    lines: list[InvoiceLine] = []
    billed_orders: list[Order] = []
    for order in due.orders + due.call_offs:
        try:
            lines.append(_named(order_line(order), schools[order.school_id]))
        except BillingError as exc:
            problems.append(exc.message)
            continue
        billed_orders.append(order)
    lines += [_named(cancellation_charge_line(o), schools[o.school_id]) for o in due.charges]
    for timesheet in due.timesheets:
        lines += [
            _named(line, schools[timesheet.school_id])
            for line in supply_invoices.timesheet_lines(timesheet)
        ]
    lines += [
        _named(supply_invoices.cancellation_line(b), schools[b.school_id])
        for b in due.cancellations
    ]
    if not lines:
        db.session.rollback()
        return 0
    orders = billed_orders + due.charges
    po_numbers = sorted({o.po_number for o in orders if o.po_number})
    invoice = _new_invoice(
        None,
        InvoiceKind.ORDER,
        Term.containing(how.as_of).key,
        billing_key(trust_id, how),
        f"{trust.name}: traded services and supply cover for its schools to "
        f"{format_date(how.as_of)}",
        how.run_id,
        trust_id=trust.id,
        po_number=", ".join(po_numbers)[:140],
        note=f"One invoice for all {trust.name}'s schools, as the trust chose; each line "
        "names its school.",
    )
    invoice.lines.extend(lines)
    _finish_invoice(invoice, lines, how)
    for order in billed_orders:
        _mark_invoiced(order, invoice)
    for timesheet in due.timesheets:
        timesheet.invoice_id = invoice.id
    for booking in due.cancellations:
        booking.cancellation_invoice_id = invoice.id
    return 1
