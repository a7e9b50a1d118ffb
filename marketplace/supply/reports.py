"""Supply figures read from the database: the fee report (one row per approved timesheet line)."""

from __future__ import annotations

import csv
import io
from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.models import Provider, School
from marketplace.supply.models import Booking, Timesheet, TimesheetLine, TimesheetStatus
from marketplace.supply.rules import RateUnit

FEE_REPORT_HEADER = [
    "school_urn",
    "agency",
    "role",
    "date",
    "units",
    "pay_pence",
    "oncost_pence",
    "agency_fee_pence",
    "charge_pence",
]


def fee_report_rows(first: date, last: date) -> list[list[str | int]]:
    """Approved timesheet lines worked from `first` to `last` inclusive, by date, school and
    agency: units are days (1 for a full day, 0.5 for a half day); charge = pay + on-cost + fee."""
    if last < first:
        raise ValueError("--to must be on or after --from")
    rows = db.session.execute(
        sa.select(
            School.urn,
            Provider.name,
            Booking.role,
            TimesheetLine.worked_on,
            TimesheetLine.unit,
            TimesheetLine.pay_pence,
            TimesheetLine.oncost_pence,
            TimesheetLine.fee_pence,
            TimesheetLine.charge_pence,
        )
        .join(Timesheet, Timesheet.id == TimesheetLine.timesheet_id)
        .join(Booking, Booking.id == Timesheet.booking_id)
        .join(School, School.id == Timesheet.school_id)
        .join(Provider, Provider.id == Timesheet.provider_id)
        .where(
            Timesheet.status == TimesheetStatus.APPROVED,
            TimesheetLine.worked_on >= first,
            TimesheetLine.worked_on <= last,
        )
        .order_by(TimesheetLine.worked_on, School.urn, Provider.name, TimesheetLine.id)
    )
    return [
        [
            urn,
            agency,
            role.value,
            worked_on.isoformat(),
            RateUnit(unit).days_text,
            pay,
            oncost,
            fee,
            charge,
        ]
        for urn, agency, role, worked_on, unit, pay, oncost, fee, charge in rows
    ]


def fee_report_csv(first: date, last: date) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FEE_REPORT_HEADER)
    writer.writerows(fee_report_rows(first, last))
    return out.getvalue()
