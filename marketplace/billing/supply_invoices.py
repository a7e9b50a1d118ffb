"""Billing supply cover: each approved timesheet, and each booking's cancellation fee, once.

One invoice per approved timesheet (billing key `supply-timesheet-<id>`) and per charged
cancellation (`supply-cancellation-<booking id>`), both unique, and the timesheet's (booking's)
`invoice_id` is set in the same transaction: a second run, or two at once, cannot bill it
again. A timesheet's days are grouped into one line per price (full days, half days, days at
AWR parity pay): quantity × the charge rate, and the line says the rate's parts — pay,
on-costs and the agency fee — so the school sees the fee on the invoice. Supply of staff is
standard-rated for VAT (20%), worked out per line as every other line is.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from app.calendar import Term
from app.extensions import db
from app.money import format_pence
from app.time import format_date
from marketplace.billing import rules
from marketplace.billing.invoicing import _finish_invoice, _line, _new_invoice, _Writing
from marketplace.billing.models import InvoiceKind, InvoiceLine
from marketplace.catalogue.models import VatTreatment
from marketplace.supply.models import Booking, BookingStatus, Timesheet, TimesheetStatus

SUPPLY_VAT = VatTreatment.STANDARD


def unbilled_timesheet_conditions() -> list[sa.ColumnElement[bool]]:
    return [Timesheet.status == TimesheetStatus.APPROVED, Timesheet.invoice_id.is_(None)]


def unbilled_cancellation_conditions() -> list[sa.ColumnElement[bool]]:
    return [
        Booking.status == BookingStatus.CANCELLED,
        Booking.cancellation_fee_pence > 0,
        Booking.cancellation_invoice_id.is_(None),
    ]


def unbilled_timesheet_ids(*conditions: sa.ColumnElement[bool]) -> list[int]:
    """Approved timesheets no invoice bills yet (and meeting `conditions`), by id."""
    return list(
        db.session.scalars(
            sa.select(Timesheet.id)
            .where(*unbilled_timesheet_conditions(), *conditions)
            .order_by(Timesheet.id)
        )
    )


def unbilled_cancellation_ids(*conditions: sa.ColumnElement[bool]) -> list[int]:
    """Cancelled bookings with a fee to pay that no invoice bills yet (and meeting
    `conditions`), by id."""
    return list(
        db.session.scalars(
            sa.select(Booking.id)
            .where(*unbilled_cancellation_conditions(), *conditions)
            .order_by(Booking.id)
        )
    )


def _who(booking: Booking) -> str:
    return f"{booking.worker.name}, {booking.role.label.lower()}, booking {booking.id}"


def bill_timesheet(timesheet_id: int, how: _Writing) -> int:
    """Write the invoice for one approved timesheet (0 when someone else just billed it)."""
    timesheet = db.session.scalar(
        sa.select(Timesheet)
        .where(Timesheet.id == timesheet_id, *unbilled_timesheet_conditions())
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if timesheet is None:
        db.session.rollback()
        return 0
    booking = timesheet.booking
    week = format_date(timesheet.week_starting)
    invoice = _new_invoice(
        timesheet.school_id,
        InvoiceKind.ORDER,
        timesheet.term_key,
        f"supply-timesheet-{timesheet.id}",
        f"Supply cover: {booking.worker.name}, week of {week}",
        how.run_id,
        note=(
            f"Supplied by {booking.provider.name} under the partnership's managed service. "
            "Each line shows the worker's pay, the statutory on-costs (employer's NI, pension, "
            "holiday pay) and the agency fee; the charge is their sum."
        ),
    )
    lines = timesheet_lines(timesheet)
    invoice.lines.extend(lines)
    _finish_invoice(invoice, lines, how)
    timesheet.invoice_id = invoice.id
    return 1


def timesheet_lines(timesheet: Timesheet) -> list[InvoiceLine]:
    """A timesheet's days as invoice lines, one per price."""
    booking = timesheet.booking
    week = format_date(timesheet.week_starting)
    groups = Counter(
        (ln.unit, ln.pay_pence, ln.oncost_pence, ln.fee_pence, ln.charge_pence, ln.at_parity)
        for ln in timesheet.lines
    )
    lines: list[InvoiceLine] = []
    for (unit, pay, oncost, fee, charge, parity), count in sorted(groups.items()):
        amounts = rules.line(count, charge, SUPPLY_VAT.rate_bp)
        what = "full day" if unit.value == "day" else "half day"
        description = (
            f"Supply cover ({_who(booking)}), week of {week}: {count} × {what} at "
            f"{format_pence(charge)} = pay {format_pence(pay)} + on-costs {format_pence(oncost)}"
            f" + agency fee {format_pence(fee)}" + (" (AWR parity pay)" if parity else "")
        )
        lines.append(_line(school_id=timesheet.school_id, description=description, amounts=amounts))
    return lines


def cancellation_line(booking: Booking) -> InvoiceLine:
    """The line for a cancelled booking's fee."""
    amounts = rules.fixed_line(booking.cancellation_fee_pence, SUPPLY_VAT.rate_bp)
    return _line(
        school_id=booking.school_id,
        description=(
            f"Cancellation fee ({_who(booking)}, from {format_date(booking.request.starts_on)})"
        ),
        amounts=amounts,
    )


def bill_cancellation(booking_id: int, how: _Writing) -> int:
    """Write the invoice for a cancelled booking's fee (0 when already billed)."""
    booking = db.session.scalar(
        sa.select(Booking)
        .where(Booking.id == booking_id, *unbilled_cancellation_conditions())
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if booking is None:
        db.session.rollback()
        return 0
    invoice = _new_invoice(
        booking.school_id,
        InvoiceKind.ORDER,
        Term.containing(booking.request.starts_on).key,
        f"supply-cancellation-{booking.id}",
        f"Supply cover cancellation: booking {booking.id}",
        how.run_id,
        note="The managed-service contract's fee for a booking cancelled inside its notice period.",
    )
    line = cancellation_line(booking)
    invoice.lines.append(line)
    _finish_invoice(invoice, [line], how)
    booking.cancellation_invoice_id = invoice.id
    return 1
