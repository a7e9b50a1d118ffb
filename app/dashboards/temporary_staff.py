"""Temporary staff through the supply managed service: spend by school, role and agency, the
agency-fee share against the 30% baseline, the saving against schools' pre-contract rates
against the 7% target, fill rate and time to fill, cancellations, AWR parity and temp-to-perm.

Spend is approved timesheet lines worked in the academic year, net of VAT: the charge, which is
exactly pay + on-costs + agency fee. A line's pre-contract cost is the school's day charge for
the role entered at onboarding (half of it, rounded half up, for a half day); lines of a role
with no baseline are left out of the saving.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa

from app.calendar import AcademicYear
from app.dashboards.table import COUNT, MONEY, PERCENT, Column, Table, as_int, share
from app.extensions import db
from app.models import Provider, School
from app.money import format_pence
from marketplace.supply.models import (
    Booking,
    BookingStatus,
    CoverRequest,
    PermanentHire,
    RequestStatus,
    SupplyBaseline,
    Timesheet,
    TimesheetLine,
    TimesheetStatus,
)
from marketplace.supply.rules import ROLE_LABELS, RateUnit, SupplyRole

FEE_BASELINE_PERCENT = 30.0  # supplier fees' share of temporary-staff spend before the service
SAVING_TARGET_PERCENT = 7.0
RULE = (
    "Approved timesheet days worked in the year, net of VAT; charge = pay + on-costs + agency fee."
)


def _lines(year: AcademicYear, school_id: int | None) -> list[sa.ColumnElement[bool]]:
    conditions = [
        Timesheet.status == TimesheetStatus.APPROVED,
        TimesheetLine.worked_on >= year.starts_on,
        TimesheetLine.worked_on <= year.ends_on,
    ]
    if school_id is not None:
        conditions.append(Timesheet.school_id == school_id)
    return conditions


def _days() -> sa.ColumnElement[Any]:
    """Days worked, in half days (a full day is 2), so the sum stays whole."""
    return sa.case((TimesheetLine.unit == RateUnit.DAY, 2), else_=1)


def _spend(
    year: AcademicYear, key: Any, join: tuple[Any, ...], school_id: int | None
) -> list[tuple[Any, int, int, int]]:
    stmt = (
        sa.select(
            key,
            sa.func.sum(_days()),
            sa.func.sum(TimesheetLine.charge_pence),
            sa.func.sum(TimesheetLine.fee_pence),
        )
        .select_from(TimesheetLine)
        .join(Timesheet, Timesheet.id == TimesheetLine.timesheet_id)
        .join(Booking, Booking.id == Timesheet.booking_id)
    )
    for target, on in join:
        stmt = stmt.join(target, on)
    stmt = stmt.where(*_lines(year, school_id)).group_by(key).order_by(key)
    return [(k, as_int(d), as_int(c), as_int(f)) for k, d, c, f in db.session.execute(stmt)]


SPEND_COLUMNS = (
    Column("Days", COUNT),
    Column("Spend", MONEY),
    Column("Agency fees", MONEY),
    Column("Fee share", PERCENT),
)


def _rows(found: list[tuple[Any, int, int, int]], label: Any) -> tuple[tuple[Any, ...], ...]:
    return tuple(
        (label(k), half_days / 2, charge, fee, share(fee, charge))
        for k, half_days, charge, fee in found
    )


def spend_by_agency(year: AcademicYear, school_id: int | None = None) -> Table:
    found = _spend(
        year, Provider.name, ((Provider, Provider.id == Timesheet.provider_id),), school_id
    )
    return Table(
        "supply-spend-by-agency",
        "Temporary staff spend by agency",
        (Column("Agency"), *SPEND_COLUMNS),
        _rows(found, str),
        RULE,
    )


def spend_by_role(year: AcademicYear, school_id: int | None = None) -> Table:
    found = _spend(year, Booking.role, (), school_id)
    return Table(
        "supply-spend-by-role",
        "Temporary staff spend by role",
        (Column("Role"), *SPEND_COLUMNS),
        _rows(found, lambda role: ROLE_LABELS[SupplyRole(role)]),
        RULE,
    )


def spend_by_school(year: AcademicYear) -> Table:
    """Per school: spend, fee share, and the saving against its pre-contract rates."""
    baseline = sa.case(
        (TimesheetLine.unit == RateUnit.DAY, SupplyBaseline.day_charge_pence),
        else_=(SupplyBaseline.day_charge_pence + 1) / 2,
    )
    stmt = (
        sa.select(
            School.name,
            sa.func.sum(_days()),
            sa.func.sum(TimesheetLine.charge_pence),
            sa.func.sum(TimesheetLine.fee_pence),
            sa.func.sum(sa.case((SupplyBaseline.id.is_not(None), baseline), else_=0)),
            sa.func.sum(
                sa.case((SupplyBaseline.id.is_not(None), TimesheetLine.charge_pence), else_=0)
            ),
        )
        .select_from(TimesheetLine)
        .join(Timesheet, Timesheet.id == TimesheetLine.timesheet_id)
        .join(Booking, Booking.id == Timesheet.booking_id)
        .join(School, School.id == Timesheet.school_id)
        .outerjoin(
            SupplyBaseline,
            sa.and_(
                SupplyBaseline.school_id == Timesheet.school_id,
                SupplyBaseline.role == Booking.role,
            ),
        )
        .where(*_lines(year, None))
        .group_by(School.name)
        .order_by(School.name)
    )
    rows = []
    for name, half_days, charge, fee, before, compared in db.session.execute(stmt):
        saved = as_int(before) - as_int(compared)
        rows.append(
            (
                name,
                as_int(half_days) / 2,
                as_int(charge),
                as_int(fee),
                share(as_int(fee), as_int(charge)),
                saved,
                share(saved, as_int(before)),
            )
        )
    return Table(
        "supply-spend-by-school",
        "Temporary staff spend by school",
        (
            Column("School"),
            *SPEND_COLUMNS,
            Column("Saved against pre-contract rates", MONEY),
            Column("Saving", PERCENT),
        ),
        tuple(rows),
        RULE + " Saving: the school's pre-contract day charge for the role (half for a half "
        f"day) less the charge, as a share of the pre-contract cost; the target is "
        f"{SAVING_TARGET_PERCENT:g}%.",
    )


def _year_instants(year: AcademicYear) -> tuple[datetime, datetime]:
    return (
        datetime.combine(year.starts_on, time.min, UTC),
        datetime.combine(year.ends_on, time.max, UTC),
    )


def service_measures(year: AcademicYear, school_id: int | None = None) -> Table:
    """The contract's KPIs for the year, each against its baseline or target."""
    spend = spend_by_agency(year, school_id)
    charge, fee = spend.total("Spend"), spend.total("Agency fees")
    first, last = _year_instants(year)
    requests = sa.select(CoverRequest).where(
        CoverRequest.starts_on >= year.starts_on,
        CoverRequest.starts_on <= year.ends_on,
        CoverRequest.status != RequestStatus.CANCELLED,
    )
    if school_id is not None:
        requests = requests.where(CoverRequest.school_id == school_id)
    found = list(db.session.scalars(requests))
    filled = [r for r in found if r.filled_at is not None]
    in_time = [r for r in filled if r.filled_at is not None and r.filled_at <= r.fill_by_at]
    hours = sorted(
        (r.filled_at - r.posted_at).total_seconds() / 3600 for r in filled if r.filled_at
    )
    bookings = sa.select(Booking).where(
        Booking.cancelled_at >= first,
        Booking.cancelled_at <= last,
        Booking.status == BookingStatus.CANCELLED,
    )
    parity = (
        sa.select(sa.func.count(sa.distinct(Timesheet.booking_id)))
        .join(TimesheetLine, TimesheetLine.timesheet_id == Timesheet.id)
        .where(TimesheetLine.at_parity.is_(True), *_lines(year, school_id))
    )
    hires = sa.select(sa.func.count(PermanentHire.id), sa.func.sum(PermanentHire.fee_pence)).where(
        PermanentHire.starts_on >= year.starts_on, PermanentHire.starts_on <= year.ends_on
    )
    if school_id is not None:
        bookings = bookings.where(Booking.school_id == school_id)
        hires = hires.where(PermanentHire.school_id == school_id)
    cancelled = list(db.session.scalars(bookings))
    hired, hire_fees = db.session.execute(hires).one()
    saving = spend_by_school(year) if school_id is None else None
    saved = saving.total("Saved against pre-contract rates") if saving else 0
    compared = sum(
        r["Spend"] + r["Saved against pre-contract rates"]
        for r in (saving.records() if saving else [])
        if r["Saved against pre-contract rates"]
    )
    saving_percent = share(saved, compared) if compared else 0.0
    median = hours[len(hours) // 2] if hours else 0.0
    rows: list[tuple[str, str, str]] = [
        ("Spend on temporary staff", format_pence(charge), ""),
        (
            "Agency-fee share of spend",
            f"{share(fee, charge):.1f}%",
            f"baseline {FEE_BASELINE_PERCENT:g}%",
        ),
        ("Requests posted", f"{len(found):,}", ""),
        ("Fill rate (filled in time)", f"{share(len(in_time), len(found)):.1f}%", ""),
        ("Median time to fill", f"{median:.1f} hours", ""),
        ("Bookings cancelled", f"{len(cancelled):,}", ""),
        ("Cancellation fees", format_pence(sum(b.cancellation_fee_pence for b in cancelled)), ""),
        ("Bookings paid at AWR parity", f"{as_int(db.session.scalar(parity)):,}", ""),
        ("Temp-to-perm hires", f"{as_int(hired):,}", ""),
        ("Temp-to-perm fees", format_pence(as_int(hire_fees)), ""),
    ]
    if saving is not None:
        rows.append(
            (
                "Saving against pre-contract rates",
                f"{saving_percent:.1f}%",
                f"target {SAVING_TARGET_PERCENT:g}%",
            )
        )
    return Table(
        "supply-measures",
        "Supply managed service: measures",
        (Column("Measure"), Column("Value"), Column("Against")),
        tuple(rows),
        "Requests starting in the year (withdrawn ones left out); filled in time: accepted "
        "before the request's fill-by time. " + RULE,
        extra={"fee_share": share(fee, charge), "saving": saving_percent, "spend": charge},
    )
