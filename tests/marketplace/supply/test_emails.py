"""Who is told about supply cover outside the app: agencies as a request is released to them,
the school when a worker is proposed and a timesheet waits, both when a booking is confirmed, the
agency when a timesheet is queried or a booking cancelled, and the school once, two weeks before
a worker's pay reaches parity under the Agency Workers Regulations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from marketplace.supply import cover, emails, timesheets
from marketplace.supply.rules import RateUnit, ReleaseMode
from tests.marketplace.supply.conftest import NOW, book, make_supply, post
from tests.marketplace.supply.test_timesheets import _long_assignment, submit
from tests.support.outbox import emails as outbox
from tests.support.outbox import recipients

DAY = RateUnit.DAY


def test_every_agency_on_an_all_at_once_contract_is_told_of_a_new_request(supply):
    request = post(supply)
    told = recipients("supply_cover")
    w = supply.world
    assert told == {w.provider_user_a.email, w.provider_user_b.email, supply.agency_user_c.email}
    message = outbox("supply_cover", to=w.provider_user_a)[0]
    assert f"Cover request {request.id}" in message.subject
    assert "Alpha Primary School" in message.text_body
    assert f"/supply/requests/{request.id}" in message.text_body


def test_ranked_agencies_are_told_as_their_window_opens_and_only_once(world):
    s = make_supply(world, ReleaseMode.RANKED)
    request = post(s)
    assert recipients("supply_cover") == {world.provider_user_a.email}
    # Ten minutes on, the second agency's 30-minute window has not opened: nobody new.
    assert emails.tell_released_requests(NOW + timedelta(minutes=10)) == 0
    assert emails.tell_released_requests(NOW + timedelta(minutes=31)) == 1
    assert recipients("supply_cover") == {world.provider_user_a.email, world.provider_user_b.email}
    assert emails.tell_released_requests(NOW + timedelta(minutes=61)) == 1
    assert emails.tell_released_requests(NOW + timedelta(minutes=90)) == 0  # told once each
    assert len(outbox("supply_cover")) == 3
    assert all(f"Cover request {request.id}" in m.subject for m in outbox("supply_cover"))


def test_a_filled_request_is_not_told_to_agencies_whose_turn_comes_later(world):
    s = make_supply(world, ReleaseMode.RANKED)
    book(s, post(s))
    before = len(outbox("supply_cover"))
    assert emails.tell_released_requests(NOW + timedelta(hours=3)) == 0
    assert len(outbox("supply_cover")) == before


def test_the_school_hears_of_a_proposal_and_both_sides_of_the_booking(supply):
    w = supply.world
    request = post(supply)
    proposal = cover.propose(
        request.id, w.provider_a.id, supply.teacher_a.id, None, today=NOW.date(), now=NOW
    )
    to_school = outbox("supply_cover", to=w.sbm_a)
    assert len(to_school) == 1 and "Asha Patel" in to_school[0].text_body
    assert "Alpha Counselling Ltd proposes a worker" in to_school[0].subject
    assert not outbox("supply_cover", to=w.provider_user_b)[1:]  # B hears only of the request
    booking = cover.accept(proposal.id, w.school_a.id, None, today=NOW.date(), now=NOW)
    confirmed = [m for m in outbox("supply_cover") if m.subject.startswith("Booking confirmed")]
    assert {m.recipient for m in confirmed} == {w.provider_user_a.email, w.sbm_a.email}
    assert all(f"/supply/bookings/{booking.id}" in m.text_body for m in confirmed)


def test_a_cancelled_booking_tells_the_agency_the_fee(supply):
    w = supply.world
    booking = book(supply, post(supply, starts_on=date(2026, 9, 8)))
    cover.cancel_booking(booking.id, w.school_a.id, None, now=datetime(2026, 9, 7, 20, tzinfo=UTC))
    [message] = [m for m in outbox("supply_cover") if m.subject.startswith("Booking cancelled")]
    assert message.recipient == w.provider_user_a.email
    assert f"a fee of £{booking.cancellation_fee_pence / 100:,.2f} is due" in message.text_body


def test_timesheets_waiting_and_queried_reach_the_right_side_each_time(supply):
    w = supply.world
    booking = book(supply, post(supply, starts_on=date(2026, 9, 14), ends_on=date(2026, 9, 18)))
    sheet = submit(supply, booking, date(2026, 9, 14), [DAY, DAY, DAY])
    [waiting] = outbox("supply_timesheet", to=w.sbm_a)
    assert "Timesheet to approve: Asha Patel" in waiting.subject
    assert "3 days" in waiting.text_body and "£714.36" in waiting.text_body  # 3 × £238.12
    timesheets.query(
        sheet.id, w.school_a.id, "Wednesday was a half day", None, now=NOW + timedelta(days=12)
    )
    [queried] = outbox("supply_timesheet", to=w.provider_user_a)
    assert "Wednesday was a half day" in queried.text_body
    timesheets.submit(
        booking.id,
        booking.provider_id,
        date(2026, 9, 14),
        {date(2026, 9, 14): DAY, date(2026, 9, 15): RateUnit.HALF_DAY},
        None,
        now=NOW + timedelta(days=13),
    )
    assert len(outbox("supply_timesheet", to=w.sbm_a)) == 2  # the corrected week, again


def test_the_school_is_emailed_once_two_weeks_before_parity(supply):
    booking, sheets = _long_assignment(supply, parity=None)
    [warning] = outbox("supply_awr")
    assert warning.recipient == supply.world.sbm_a.email
    assert "Asha Patel reaches equal pay in 2 more qualifying weeks" == warning.subject
    assert "has worked 10 qualifying weeks" in warning.text_body
    assert "Enter your own day pay point" in warning.text_body
    assert len(sheets) == 13  # weeks 11, 12 and 13 were submitted after it: still one email
