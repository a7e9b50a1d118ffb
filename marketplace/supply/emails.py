"""Who hears about supply cover outside the app, and when.

- A cover request: each agency on the contract when it is released to it (all at once, or in
  ranked order as each agency's window opens: a job every minute tells the later ones).
- A proposed worker: the school (the person who asked and the school's business managers).
- A confirmed booking: the agency and the school; a cancelled one: the agency, with any fee.
- A submitted timesheet: the school, to approve or query; a queried one: the agency.
- The Agency Workers Regulations: the school, once per booking, when the worker's 13th
  qualifying week (pay parity) is two weeks away or nearer.

Each function writes in the caller's transaction (the use case commits); an event is told once
(notify is keyed by event and person).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Role, User
from app.money import format_pence
from app.notifications.rendering import link
from app.notifications.services import notify
from app.time import format_date, utcnow
from app.use_case import use_case
from marketplace.supply import access, awr
from marketplace.supply.models import (
    Booking,
    CoverRequest,
    Proposal,
    RequestStatus,
    SupplyAgency,
    Timesheet,
)

# A ranked request is told to each agency when its window opens; the job looks this far back.
RELEASE_LOOKBACK = timedelta(days=14)


def _school_people(school_id: int, also: User | None = None) -> list[User]:
    """The school's business managers, and whoever asked (a head, say)."""
    people = list(
        db.session.scalars(
            sa.select(User)
            .where(User.school_id == school_id, User.role == Role.SBM, User.active.is_(True))
            .order_by(User.id)
        )
    )
    if also is not None and also.active and all(p.id != also.id for p in people):
        people.append(also)
    return people


def _agency_people(provider_id: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.provider_id == provider_id, User.active.is_(True))
            .order_by(User.id)
        )
    )


def _requester(request: CoverRequest) -> User | None:
    return db.session.get(User, request.created_by_id) if request.created_by_id else None


def _dates(request: CoverRequest) -> str:
    if request.starts_on == request.ends_on:
        return format_date(request.starts_on)
    return f"{format_date(request.starts_on)} to {format_date(request.ends_on)}"


def _what(request: CoverRequest) -> str:
    extra = f" ({request.subject})" if request.subject else ""
    return f"a {request.role.label.lower()}{extra} at {request.school.name}, {_dates(request)}"


def _send(
    kind: str,
    people: Iterable[User],
    *,
    event: str,
    subject: str,
    paragraphs: list[str],
    target: str,
    link_text: str,
    about: tuple[str, int],
) -> int:
    written = notify(
        kind,
        people,
        event=event,
        template="supply_message",
        subject=subject,
        link=target,
        about=about,
        summary=paragraphs[0],
        paragraphs=paragraphs,
        link_text=link_text,
    )
    return len(written)


def request_released(request: CoverRequest, provider_ids: Iterable[int]) -> int:
    """Tell these agencies that the request is theirs to fill now."""
    told = 0
    fill_by = request.fill_by_at
    for provider_id in provider_ids:
        told += _send(
            "supply_cover",
            _agency_people(provider_id),
            event=f"supply-request-{request.id}-released",
            subject=f"Cover request {request.id}: {request.role.label.lower()} needed",
            paragraphs=[
                f"{request.school.name} needs {_what(request)}.",
                f"Propose a vetted worker by {format_date(fill_by)}.",
            ],
            target=link("marketplace.supply_request", request_id=request.id),
            link_text=f"See cover request {request.id}",
            about=("supply_request", request.id),
        )
    return told


def released_agencies(request: CoverRequest, now: datetime) -> list[int]:
    """The agencies on the request's contract whose turn has come by now."""
    agencies = db.session.scalars(
        sa.select(SupplyAgency)
        .where(SupplyAgency.contract_id == request.contract_id)
        .order_by(SupplyAgency.rank, SupplyAgency.provider_id)
    ).all()
    return [a.provider_id for a in agencies if now >= access.release_time(request, a.rank)]


@use_case
def tell_released_requests(now: datetime | None = None) -> int:
    """Every minute: tell agencies about open requests released to them since last time (the
    event key makes telling twice a no-op). How many emails were written."""
    now = now or utcnow()
    since = now - RELEASE_LOOKBACK
    requests = db.session.scalars(
        sa.select(CoverRequest)
        .where(CoverRequest.status == RequestStatus.OPEN, CoverRequest.posted_at >= since)
        .order_by(CoverRequest.id)
    ).all()
    told = sum(request_released(r, released_agencies(r, now)) for r in requests)
    db.session.commit()
    return told


def worker_proposed(proposal: Proposal) -> int:
    request = proposal.request
    return _send(
        "supply_cover",
        _school_people(request.school_id, _requester(request)),
        event=f"supply-proposal-{proposal.id}",
        subject=f"Cover request {request.id}: {proposal.provider.name} proposes a worker",
        paragraphs=[
            f"{proposal.provider.name} proposes {proposal.worker.name} for {_what(request)}.",
            "Compare the proposals and their rates, part by part, and accept one.",
        ],
        target=link("marketplace.supply_request", request_id=request.id),
        link_text=f"See cover request {request.id}",
        about=("supply_request", request.id),
    )


def booking_confirmed(booking: Booking) -> int:
    request = booking.request
    paragraphs = [
        f"{booking.worker.name} ({booking.provider.name}) is booked for {_what(request)}.",
        "The agency submits a timesheet at the end of each week for the school to approve.",
    ]
    target = link("marketplace.supply_booking", booking_id=booking.id)
    people = [*_agency_people(booking.provider_id)]
    people += _school_people(booking.school_id, _requester(request))
    return _send(
        "supply_cover",
        people,
        event=f"supply-booking-{booking.id}-confirmed",
        subject=f"Booking confirmed: {booking.worker.name}, {_dates(request)}",
        paragraphs=paragraphs,
        target=target,
        link_text=f"See booking {booking.id}",
        about=("supply_booking", booking.id),
    )


def booking_cancelled(booking: Booking) -> int:
    request = booking.request
    fee = booking.cancellation_fee_pence or 0
    charge = (
        f"Cancelled inside the contract's notice period: a fee of {format_pence(fee)} is due."
        if fee
        else "Cancelled in good time: no fee is due."
    )
    return _send(
        "supply_cover",
        _agency_people(booking.provider_id),
        event=f"supply-booking-{booking.id}-cancelled",
        subject=f"Booking cancelled: {booking.worker.name}, {_dates(request)}",
        paragraphs=[f"{request.school.name} cancelled the booking for {_what(request)}.", charge],
        target=link("marketplace.supply_booking", booking_id=booking.id),
        link_text=f"See booking {booking.id}",
        about=("supply_booking", booking.id),
    )


def _stamp(at: datetime | None) -> int:
    return int(at.timestamp()) if at else 0


def timesheet_submitted(timesheet: Timesheet) -> int:
    booking = timesheet.booking
    days = sum(1 for _ in timesheet.lines)
    total = sum(line.charge_pence for line in timesheet.lines)
    return _send(
        "supply_timesheet",
        _school_people(timesheet.school_id, _requester(booking.request)),
        event=f"supply-timesheet-{timesheet.id}-submitted-{_stamp(timesheet.submitted_at)}",
        subject=f"Timesheet to approve: {booking.worker.name}, week of "
        f"{format_date(timesheet.week_starting)}",
        paragraphs=[
            f"{booking.provider.name} submitted {days} day{'s' if days != 1 else ''} for "
            f"{booking.worker.name}, week of {format_date(timesheet.week_starting)}: "
            f"{format_pence(total)} before VAT.",
            f"Approve it or query it by {format_date(timesheet.decide_by_on)}.",
        ],
        target=link("marketplace.supply_booking", booking_id=booking.id),
        link_text=f"See booking {booking.id} and its timesheets",
        about=("supply_timesheet", timesheet.id),
    )


def timesheet_queried(timesheet: Timesheet) -> int:
    booking = timesheet.booking
    return _send(
        "supply_timesheet",
        _agency_people(timesheet.provider_id),
        event=f"supply-timesheet-{timesheet.id}-queried-{_stamp(timesheet.decided_at)}",
        subject=f"Timesheet queried: {booking.worker.name}, week of "
        f"{format_date(timesheet.week_starting)}",
        paragraphs=[
            f"{booking.school.name} queried the week of {format_date(timesheet.week_starting)}"
            f" for {booking.worker.name}: {timesheet.query_note}",
            "Correct the week and submit it again.",
        ],
        target=link("marketplace.supply_booking", booking_id=booking.id),
        link_text=f"See booking {booking.id}",
        about=("supply_timesheet", timesheet.id),
    )


def awr_parity_near(booking: Booking, weeks: int, as_of: date) -> int:
    """Once per booking: parity is two weeks away or nearer (weeks = qualifying weeks so far)."""
    if not awr.warning_due(weeks):
        return 0
    left = awr.PARITY_FROM_WEEK - weeks
    when = (
        "from the next qualifying week"
        if left <= 1
        else f"in {left - 1} more qualifying week{'s' if left - 1 != 1 else ''}"
    )
    pay = (
        f"Pooled will price those weeks at your own day pay point, "
        f"{format_pence(booking.parity_day_pay_pence)}."
        if booking.parity_day_pay_pence is not None
        else "Enter your own day pay point for the role on the booking, so those weeks are "
        "priced at parity."
    )
    return _send(
        "supply_awr",
        _school_people(booking.school_id, _requester(booking.request)),
        event=f"supply-booking-{booking.id}-awr-warning",
        subject=f"{booking.worker.name} reaches equal pay {when}",
        paragraphs=[
            f"By {format_date(as_of)}, {booking.worker.name} has worked {weeks} qualifying weeks"
            f" with {booking.school.name} as a {booking.role.label.lower()}. Under the Agency "
            f"Workers Regulations their pay rises to parity from week {awr.PARITY_FROM_WEEK} "
            f"({when}).",
            pay,
        ],
        target=link("marketplace.supply_booking", booking_id=booking.id),
        link_text=f"See booking {booking.id}",
        about=("supply_booking", booking.id),
    )
