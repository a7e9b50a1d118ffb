"""Timesheets: at the end of each week the agency submits a booking's days and half days; the
school approves or queries them within `DECIDE_WITHIN` working days. Each line is priced when
it is submitted: the booking's rate in parts (introduced-worker fee applied) and, from the
worker's 13th AWR qualifying week with the school in the role, pay at the school's own pay point
(marketplace.supply.awr), the on-costs scaled with it and the agency fee unchanged.
Approved timesheets are billed once by the billing run (marketplace.billing.supply_invoices).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from app.calendar import Term, add_working_days
from app.extensions import db
from app.models import User
from app.money import half_up
from app.time import london_date, utcnow
from app.use_case import use_case
from marketplace.supply import access, awr, emails, rules
from marketplace.supply.cover import quote
from marketplace.supply.errors import InvalidSupply, SupplyStateConflict
from marketplace.supply.models import (
    Booking,
    BookingStatus,
    Timesheet,
    TimesheetLine,
    TimesheetStatus,
)

DECIDE_WITHIN = 3  # working days for the school to approve or query
QUERY_MAX = 500


def worked_days(booking: Booking, excluding_timesheet_id: int | None = None) -> list[date]:
    """Days the worker worked for the school in the booking's role, on any booking (AWR counts
    them together), from timesheets not queried."""
    stmt = (
        sa.select(TimesheetLine.worked_on)
        .join(Timesheet, Timesheet.id == TimesheetLine.timesheet_id)
        .join(Booking, Booking.id == Timesheet.booking_id)
        .where(
            Booking.worker_id == booking.worker_id,
            Booking.school_id == booking.school_id,
            Booking.role == booking.role,
            Timesheet.status != TimesheetStatus.QUERIED,
        )
    )
    if excluding_timesheet_id is not None:
        stmt = stmt.where(Timesheet.id != excluding_timesheet_id)
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class AwrStatus:
    weeks: int
    warning: bool
    at_parity: bool
    parity_pay_set: bool


def awr_status(booking: Booking, as_of: date) -> AwrStatus:
    """Qualifying weeks so far, whether to warn the school, and whether parity applies."""
    weeks = awr.qualifying_weeks(worked_days(booking), as_of)
    return AwrStatus(
        weeks=weeks,
        warning=awr.warning_due(weeks),
        at_parity=weeks >= awr.PARITY_FROM_WEEK,
        parity_pay_set=booking.parity_day_pay_pence is not None,
    )


def price_line(booking: Booking, unit: rules.RateUnit, week_number: int) -> rules.RateParts:
    """One day or half day: the booked rate; from week 13 pay rises to the school's pay point
    (half of it, rounded half up, for a half day) when that is higher than the card's pay."""
    rates = quote(booking.proposal)
    parts = rates.day if unit is rules.RateUnit.DAY else rates.half_day
    if awr.at_parity(week_number) and booking.parity_day_pay_pence is not None:
        parity = booking.parity_day_pay_pence
        if unit is rules.RateUnit.HALF_DAY:
            parity = half_up(parity, 2)
        if parity > parts.pay_pence:
            parts = parts.at_pay(parity)
    return parts


def _clean_days(
    booking: Booking, week_starting: date, days: dict[date, rules.RateUnit], today: date
) -> None:
    request = booking.request
    if week_starting.weekday() != 0:
        raise InvalidSupply("A timesheet's week starts on a Monday", field="week_starting")
    if not days:
        raise InvalidSupply("Enter at least one day or half day worked", field="days")
    for day in days:
        if not week_starting <= day < week_starting + timedelta(days=7):
            raise InvalidSupply(
                f"{day:%-d %B} is not in the week of {week_starting:%-d %B}", field="days"
            )
        if not request.starts_on <= day <= request.ends_on:
            raise InvalidSupply(f"{day:%-d %B %Y} is outside the booking", field="days")
        if day.weekday() >= 5:
            raise InvalidSupply(f"{day:%-d %B %Y} is a weekend", field="days")
        if day > today:
            raise InvalidSupply(f"{day:%-d %B %Y} has not happened yet", field="days")


@use_case
def submit(
    booking_id: int,
    provider_id: int,
    week_starting: date,
    days: dict[date, rules.RateUnit],
    actor: User | None,
    *,
    now: datetime | None = None,
) -> Timesheet:
    """The agency submits a week (again, after a query): each day priced, AWR weeks counted."""
    now = now or utcnow()
    today = london_date(now)
    booking = access.get_booking_for_agency(booking_id, provider_id, lock=True)
    if booking.status is not BookingStatus.CONFIRMED:
        raise SupplyStateConflict("This booking was cancelled: there is nothing to submit.")
    _clean_days(booking, week_starting, days, today)
    timesheet = db.session.scalar(
        sa.select(Timesheet).where(
            Timesheet.booking_id == booking.id, Timesheet.week_starting == week_starting
        )
    )
    if timesheet is not None and timesheet.status is not TimesheetStatus.QUERIED:
        raise SupplyStateConflict("This week's timesheet has already been submitted.")
    if timesheet is None:
        timesheet = Timesheet(
            booking_id=booking.id,
            school_id=booking.school_id,
            provider_id=booking.provider_id,
            week_starting=week_starting,
            term_key=Term.containing(week_starting).key,
        )
        db.session.add(timesheet)
    else:
        timesheet.lines.clear()
        db.session.flush()
    timesheet.status = TimesheetStatus.SUBMITTED
    timesheet.submitted_at = now
    timesheet.decided_at = None
    timesheet.decide_by_on = add_working_days(today, DECIDE_WITHIN)
    numbers = awr.week_numbers([*worked_days(booking, timesheet.id), *days])
    for day, unit in sorted(days.items()):
        week = numbers[awr.week_of(day)]
        parts = price_line(booking, unit, week)
        timesheet.lines.append(
            TimesheetLine(
                worked_on=day,
                unit=unit,
                pay_pence=parts.pay_pence,
                oncost_pence=parts.oncost_pence,
                fee_pence=parts.fee_pence,
                charge_pence=parts.charge_pence,
                awr_week=week,
                at_parity=awr.at_parity(week) and booking.parity_day_pay_pence is not None,
            )
        )
    db.session.flush()
    access.record(
        actor, "supply_timesheet", timesheet.id, "submitted", booking.school_id, days=len(days)
    )
    emails.timesheet_submitted(timesheet)
    week_end = week_starting + timedelta(days=6)
    emails.awr_parity_near(booking, awr_status(booking, week_end).weeks, week_end)
    db.session.commit()
    return timesheet


@use_case
def approve(
    timesheet_id: int, school_id: int, actor: User | None, now: datetime | None = None
) -> Timesheet:
    """The school approves a submitted week: it will be billed once by the next billing run."""
    timesheet = access.get_timesheet_for_school(timesheet_id, school_id, lock=True)
    if timesheet.status is not TimesheetStatus.SUBMITTED:
        raise SupplyStateConflict(f"This timesheet is {timesheet.status.label.lower()}.")
    timesheet.status = TimesheetStatus.APPROVED
    timesheet.decided_at = now or utcnow()
    access.record(actor, "supply_timesheet", timesheet.id, "approved", school_id)
    db.session.commit()
    return timesheet


@use_case
def query(
    timesheet_id: int, school_id: int, note: str, actor: User | None, now: datetime | None = None
) -> Timesheet:
    """The school queries a submitted week, saying why; the agency corrects and resubmits."""
    text = note.strip()
    if not text:
        raise InvalidSupply("Say what is wrong, so the agency can correct it", field="note")
    if len(text) > QUERY_MAX:
        raise InvalidSupply(f"Keep it to {QUERY_MAX} characters", field="note")
    timesheet = access.get_timesheet_for_school(timesheet_id, school_id, lock=True)
    if timesheet.status is not TimesheetStatus.SUBMITTED:
        raise SupplyStateConflict(f"This timesheet is {timesheet.status.label.lower()}.")
    timesheet.status = TimesheetStatus.QUERIED
    timesheet.query_note = text
    timesheet.decided_at = now or utcnow()
    access.record(actor, "supply_timesheet", timesheet.id, "queried", school_id, note=text)
    emails.timesheet_queried(timesheet)
    db.session.commit()
    return timesheet


def overdue(timesheet: Timesheet, today: date) -> bool:
    """Still waiting for the school after its working days to decide."""
    return timesheet.status is TimesheetStatus.SUBMITTED and today > timesheet.decide_by_on
