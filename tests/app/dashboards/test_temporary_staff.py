"""The supply section of the dashboards: spend, fee share, saving, fill rate and the rest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.calendar import AcademicYear
from app.dashboards.temporary_staff import service_measures, spend_by_agency, spend_by_school
from marketplace.supply import cover, hires, setup, timesheets
from marketplace.supply.rules import RateUnit, SupplyRole
from tests.marketplace.supply.conftest import NOW, book, make_supply, post

YEAR = AcademicYear(2026)


def _week(booking, monday, units):
    days = {monday + timedelta(days=n): unit for n, unit in enumerate(units)}
    friday = datetime.combine(monday + timedelta(days=4), datetime.min.time(), UTC) + timedelta(
        hours=17
    )
    return timesheets.submit(booking.id, booking.provider_id, monday, days, None, now=friday)


def test_spend_fee_share_and_saving_add_up(world):
    s = make_supply(world)
    setup.set_baseline(world.school_a.id, SupplyRole.TEACHER, 26_000, None)  # £260 a day before
    a = book(s, post(s, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 18)))
    b = book(s, post(s, starts_on=date(2026, 9, 21), ends_on=date(2026, 9, 25)), s.teacher_b)
    timesheets.approve(
        _week(a, date(2026, 9, 14), [RateUnit.DAY, RateUnit.DAY, RateUnit.HALF_DAY]).id,
        world.school_a.id,
        None,
    )
    _week(b, date(2026, 9, 21), [RateUnit.DAY])  # submitted, not approved: not spend

    by_school = spend_by_school(YEAR).record(world.school_a.name)
    assert by_school is not None
    assert by_school["Days"] == 2.5
    assert by_school["Spend"] == 2 * 23_812 + 11_906
    assert by_school["Agency fees"] == 2 * 4_500 + 2_250
    before = 2 * 26_000 + 13_000
    assert by_school["Saved against pre-contract rates"] == before - by_school["Spend"]
    assert by_school["Saving"] == round(100 * (before - by_school["Spend"]) / before, 1)

    agencies = spend_by_agency(YEAR)
    assert [r["Agency"] for r in agencies.records()] == [world.provider_a.name]
    assert agencies.records()[0]["Fee share"] == round(100 * 11_250 / 59_530, 1)

    measures = {r["Measure"]: r for r in service_measures(YEAR).records()}
    assert measures["Spend on temporary staff"]["Value"] == "£595.30"
    assert measures["Agency-fee share of spend"]["Against"] == "baseline 30%"
    assert (
        measures["Saving against pre-contract rates"]["Value"]
        == f"{round(100 * (65_000 - 59_530) / 65_000, 1):.1f}%"
    )
    assert measures["Requests posted"]["Value"] == "2"
    assert measures["Fill rate (filled in time)"]["Value"] == "100.0%"


def test_cancellations_parity_and_hires_are_counted(world):
    s = make_supply(world)
    late = book(s, post(s))
    cover.cancel_booking(late.id, world.school_a.id, None, now=NOW + timedelta(hours=20))
    unfilled = post(s, starts_on=date(2026, 9, 9))
    assert cover.is_unfilled_late(unfilled, unfilled.fill_by_at)
    long = book(
        s,
        post(
            s,
            starts_on=date(2026, 9, 14),
            ends_on=date(2026, 12, 18),
            now=datetime(2026, 9, 1, 9, tzinfo=UTC),
        ),
        parity=18_000,
        now=datetime(2026, 9, 1, 9, tzinfo=UTC),
    )
    monday = date(2026, 9, 14)
    while monday <= date(2026, 12, 14):
        if monday != date(2026, 10, 26):
            timesheets.approve(_week(long, monday, [RateUnit.DAY] * 5).id, world.school_a.id, None)
        monday += timedelta(days=7)
    quote = hires.quote(world.school_a.id, s.teacher_a.id, 3_600_000)
    hires.hire(
        world.school_a.id, s.teacher_a.id, 3_600_000, date(2027, 1, 4), quote.fee_pence, None
    )
    measures = {r["Measure"]: r["Value"] for r in service_measures(YEAR).records()}
    assert measures["Bookings cancelled"] == "1"
    assert measures["Cancellation fees"] == "£238.12"
    assert measures["Bookings paid at AWR parity"] == "1"
    assert measures["Temp-to-perm hires"] == "1" and measures["Temp-to-perm fees"] == "£0.00"
    assert measures["Fill rate (filled in time)"] == "66.7%"  # the unfilled request counts against
    school_b = {
        r["Measure"]: r["Value"] for r in service_measures(YEAR, world.school_b.id).records()
    }
    assert school_b["Spend on temporary staff"] == "£0.00" and school_b["Requests posted"] == "0"
