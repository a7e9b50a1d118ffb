"""Timesheets: priced to the penny, AWR parity from week 13, approval or query, billed once
through the billing run, and owed to the agency."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from marketplace.billing import invoicing, payables
from marketplace.billing.models import Invoice, InvoiceLine
from marketplace.supply import cover, hires, timesheets
from marketplace.supply.errors import InvalidSupply, SupplyNotFound, SupplyStateConflict
from marketplace.supply.models import Session, TimesheetStatus
from marketplace.supply.rules import RateUnit
from tests.marketplace.supply.conftest import NOW, book, post

DAY, HALF = RateUnit.DAY, RateUnit.HALF_DAY


def friday(monday: date) -> datetime:
    return datetime.combine(monday + timedelta(days=4), datetime.min.time(), UTC) + timedelta(
        hours=17
    )


def week(monday: date, units: list[RateUnit]) -> dict[date, RateUnit]:
    return {monday + timedelta(days=n): unit for n, unit in enumerate(units)}


def submit(s, booking, monday, units):
    return timesheets.submit(
        booking.id, booking.provider_id, monday, week(monday, units), None, now=friday(monday)
    )


def test_each_day_is_priced_in_parts_that_add_up(supply):
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 18)))
    sheet = submit(supply, booking, date(2026, 9, 14), [DAY, DAY, HALF])
    assert [ln.charge_pence for ln in sheet.lines] == [23_812, 23_812, 11_906]
    for ln in sheet.lines:
        assert ln.charge_pence == ln.pay_pence + ln.oncost_pence + ln.fee_pence
    assert sheet.lines[0].oncost_pence == 1_500 + 1_000 + 1_812
    assert sheet.status is TimesheetStatus.SUBMITTED
    assert sheet.term_key == "2026-autumn"
    assert sheet.decide_by_on == date(2026, 9, 23)  # three working days after Friday 18 Sep


@pytest.mark.parametrize(
    ("monday", "units", "message"),
    [
        (date(2026, 9, 15), [DAY], "starts on a Monday"),
        (date(2026, 9, 7), [DAY], "outside the booking"),
        (date(2026, 9, 14), [], "at least one day"),
    ],
)
def test_a_bad_timesheet_is_refused_and_writes_nothing(supply, monday, units, message):
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 18)))
    with pytest.raises(InvalidSupply, match=message):
        timesheets.submit(
            booking.id,
            booking.provider_id,
            monday,
            week(monday, units),
            None,
            now=friday(date(2026, 9, 14)),
        )
    assert timesheets.access.booking_timesheets(booking.id) == []


def test_days_not_yet_worked_cannot_be_submitted(supply):
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 18)))
    with pytest.raises(InvalidSupply, match="has not happened yet"):
        timesheets.submit(
            booking.id,
            booking.provider_id,
            date(2026, 9, 14),
            week(date(2026, 9, 14), [DAY] * 5),
            None,
            now=datetime(2026, 9, 16, 12, tzinfo=UTC),
        )


def test_another_agency_cannot_submit_for_a_booking(supply):
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14)))
    with pytest.raises(SupplyNotFound):
        timesheets.submit(
            booking.id,
            supply.world.provider_b.id,
            date(2026, 9, 14),
            week(date(2026, 9, 14), [DAY]),
            None,
            now=friday(date(2026, 9, 14)),
        )


def test_a_query_sends_it_back_and_the_corrected_week_replaces_it(supply):
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 18)))
    sheet = submit(supply, booking, date(2026, 9, 14), [DAY, DAY, DAY])
    with pytest.raises(InvalidSupply):
        timesheets.query(sheet.id, supply.world.school_a.id, " ", None)
    timesheets.query(sheet.id, supply.world.school_a.id, "Wednesday was a half day", None)
    assert sheet.status is TimesheetStatus.QUERIED
    with pytest.raises(SupplyStateConflict):
        timesheets.approve(sheet.id, supply.world.school_a.id, None)
    again = submit(supply, booking, date(2026, 9, 14), [DAY, DAY, HALF])
    assert again.id == sheet.id and again.status is TimesheetStatus.SUBMITTED
    assert [ln.unit for ln in again.lines] == [DAY, DAY, HALF]
    with pytest.raises(SupplyNotFound):
        timesheets.approve(sheet.id, supply.world.school_b.id, None)
    timesheets.approve(sheet.id, supply.world.school_a.id, None)
    assert sheet.status is TimesheetStatus.APPROVED
    with pytest.raises(SupplyStateConflict):
        submit(supply, booking, date(2026, 9, 14), [DAY])


def _long_assignment(supply, parity):
    """A teacher every weekday from 7 Sep to 11 Dec 2026 (autumn half term paused)."""
    request = post(
        supply,
        starts_on=date(2026, 9, 7),
        ends_on=date(2026, 12, 18),
        now=datetime(2026, 9, 1, 9, tzinfo=UTC),
    )
    booking = book(supply, request, parity=parity, now=datetime(2026, 9, 1, 9, tzinfo=UTC))
    sheets = []
    monday = date(2026, 9, 7)
    while monday <= date(2026, 12, 7):
        if monday != date(2026, 10, 26):
            sheets.append(submit(supply, booking, monday, [DAY] * 5))
        monday += timedelta(days=7)
    return booking, sheets


def test_parity_pay_from_the_thirteenth_qualifying_week(supply):
    booking, sheets = _long_assignment(supply, parity=18_000)
    assert [s.lines[0].awr_week for s in sheets] == list(range(1, 14))
    week_12, week_13 = sheets[11].lines[0], sheets[12].lines[0]
    assert not week_12.at_parity and week_12.pay_pence == 15_000 and week_12.charge_pence == 23_812
    assert week_13.at_parity and week_13.pay_pence == 18_000
    assert week_13.oncost_pence == 1_800 + 1_200 + 2_174  # on-costs scale with pay
    assert week_13.fee_pence == 4_500  # the agency fee does not
    assert week_13.charge_pence == 18_000 + 1_800 + 1_200 + 2_174 + 4_500
    status = timesheets.awr_status(booking, date(2026, 12, 11))
    assert status.weeks == 13 and status.at_parity and not status.warning


def test_the_school_is_warned_two_weeks_before_parity(supply):
    booking, _ = _long_assignment(supply, parity=None)
    assert timesheets.awr_status(booking, date(2026, 11, 13)).warning is False  # 9 weeks
    assert timesheets.awr_status(booking, date(2026, 11, 20)).warning is True  # 10 weeks


def test_approved_timesheets_are_billed_once_with_the_agency_fee_on_the_line(supply):
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 18)))
    sheet = submit(supply, booking, date(2026, 9, 14), [DAY, DAY, HALF])
    invoicing.plan(date(2026, 9, 21), issue_here=True)  # the memberships, not the timesheet
    assert sheet.invoice_id is None  # not approved yet: not billed
    timesheets.approve(sheet.id, supply.world.school_a.id, None)
    first = invoicing.plan(date(2026, 9, 21), issue_here=True)
    second = invoicing.plan(date(2026, 9, 22), issue_here=True)
    assert (first.created, second.created) == (1, 0)
    invoice = db.session.scalars(
        sa.select(Invoice).where(Invoice.billing_key == f"supply-timesheet-{sheet.id}")
    ).one()
    assert invoice.school_id == supply.world.school_a.id
    lines = db.session.scalars(
        sa.select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by(InvoiceLine.id)
    ).all()
    assert [(ln.quantity, ln.unit_pence) for ln in lines] == [(2, 23_812), (1, 11_906)]
    assert "agency fee £45.00" in lines[0].description and "pay £150.00" in lines[0].description
    assert invoice.net_pence == 2 * 23_812 + 11_906
    assert invoice.vat_pence == sum(ln.vat_pence for ln in lines)
    assert sheet.invoice_id == invoice.id


def test_a_late_cancellation_fee_is_billed_once(supply):
    booking = book(supply, post(supply))
    cover.cancel_booking(booking.id, supply.world.school_a.id, None, now=NOW + timedelta(hours=20))
    invoicing.plan(date(2026, 9, 8), issue_here=True)
    invoicing.plan(date(2026, 9, 9), issue_here=True)
    [invoice] = db.session.scalars(sa.select(Invoice).where(Invoice.billing_key.like("supply-%")))
    assert invoice.billing_key == f"supply-cancellation-{booking.id}"
    assert invoice.net_pence == 23_812 and booking.cancellation_invoice_id == invoice.id


def test_approved_weeks_appear_in_the_agencys_payables(supply):
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 18)))
    sheet = submit(supply, booking, date(2026, 9, 14), [DAY, DAY, HALF])
    assert payables.supply_items(500, provider_id=booking.provider_id) == []
    timesheets.approve(sheet.id, supply.world.school_a.id, None)
    [owed] = payables.supply_items(500, provider_id=booking.provider_id)
    assert owed.gross_pence == 59_530 and owed.fee_pence == 2_977 and owed.owed_pence == 56_553
    assert payables.supply_items(500, provider_id=supply.world.provider_b.id) == []
    [row] = [
        r
        for r in payables.ledger(500, provider_id=booking.provider_id)
        if r.period == "2026-autumn"
    ]
    assert row.gross_pence == 59_530


def test_temp_to_perm_fee_is_quoted_from_weeks_engaged_and_confirmed_at_that_fee(supply):
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 25)))
    submit(supply, booking, date(2026, 9, 14), [DAY] * 5)
    submit(supply, booking, date(2026, 9, 21), [DAY] * 5)
    quote = hires.quote(supply.world.school_a.id, supply.teacher_a.id, 3_600_000)
    assert quote.weeks_engaged == 2
    assert quote.fee_pence == 600_000  # 20% × 10/12 of £36,000
    with pytest.raises(SupplyStateConflict):
        hires.hire(
            supply.world.school_a.id, supply.teacher_a.id, 3_600_000, date(2027, 1, 4), 1, None
        )
    hired = hires.hire(
        supply.world.school_a.id,
        supply.teacher_a.id,
        3_600_000,
        date(2027, 1, 4),
        quote.fee_pence,
        None,
    )
    assert hired.fee_pence == 600_000
    with pytest.raises(SupplyNotFound):
        hires.quote(supply.world.school_b.id, supply.teacher_a.id, 3_600_000)


def test_no_temp_to_perm_fee_after_twelve_weeks(supply):
    _long_assignment(supply, parity=None)
    quote = hires.quote(supply.world.school_a.id, supply.teacher_a.id, 3_600_000)
    assert quote.weeks_engaged == 13 and quote.fee_pence == 0


def test_half_day_requests_book_at_the_half_day_rate(supply):
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), session=Session.AFTERNOON))
    sheet = submit(supply, booking, date(2026, 9, 14), [HALF])
    assert sheet.lines[0].charge_pence == 11_906


def test_the_fee_report_prints_one_row_per_approved_line_with_the_charge_in_parts(supply, runner):
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 18)))
    sheet = submit(supply, booking, date(2026, 9, 14), [DAY, HALF])
    submit(
        supply,
        book(supply, post(supply, starts_on=date(2026, 9, 21)), supply.teacher_b),
        date(2026, 9, 21),
        [DAY],
    )
    timesheets.approve(sheet.id, supply.world.school_a.id, None)  # the second stays unapproved
    result = runner.invoke(
        args=["supply", "fee-report", "--from", "2026-09-01", "--to", "2026-09-30"]
    )
    assert result.exit_code == 0, result.output
    urn = supply.world.school_a.urn
    agency = supply.world.provider_a.name
    assert result.output.splitlines() == [
        "school_urn,agency,role,date,units,pay_pence,oncost_pence,agency_fee_pence,charge_pence",
        f"{urn},{agency},teacher,2026-09-14,1,15000,4312,4500,23812",
        f"{urn},{agency},teacher,2026-09-15,0.5,7500,2156,2250,11906",
    ]
    narrow = runner.invoke(
        args=["supply", "fee-report", "--from", "2026-09-15", "--to", "2026-09-15"]
    )
    assert len(narrow.output.splitlines()) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-09-30"], "is not a date"),
        (["--from", "2026-09-30", "--to", "2026-09-01"], "must be on or after --from"),
        (["--to", "2026-09-30"], "Missing option '--from'"),
    ],
)
def test_the_fee_report_refuses_bad_dates_clearly(supply, runner, args, message):
    result = runner.invoke(args=["supply", "fee-report", *args])
    assert result.exit_code == 2 and message in result.output
