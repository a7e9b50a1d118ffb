"""Cover from request to booking: a school posts a request; the contract's agencies see it
(all at once, or ranked with a window each); agencies propose named, vetted workers; the school
accepts one and the booking is confirmed to both; either may then be cancelled under the
contract's rule. Every public use case commits once, or refuses and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from app.calendar import is_working_day
from app.extensions import db
from app.models import School, User
from app.time import london_instant, utcnow
from app.use_case import use_case
from marketplace.supply import access, emails, rules
from marketplace.supply.errors import InvalidSupply, SupplyStateConflict, VettingIncomplete
from marketplace.supply.models import (
    Booking,
    BookingStatus,
    CoverRequest,
    Proposal,
    ProposalStatus,
    RequestStatus,
    Session,
    SupplyContract,
    SupplyRate,
    SupplyWorker,
)
from marketplace.supply.setup import vetting_problems

DAY_STARTS = time(8, 0)  # a booking's day starts at 08:00 London time
LONGEST_REQUEST_DAYS = 366
NOTES_MAX = 2_000


def starts_at(day: date) -> datetime:
    """The instant a day's cover starts (08:00 in London)."""
    return london_instant(day, DAY_STARTS)


def working_days(first: date, last: date) -> list[date]:
    """The working days (Monday to Friday, not bank holidays) a request covers."""
    days = []
    day = first
    while day <= last:
        if is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def is_unfilled_late(request: CoverRequest, now: datetime) -> bool:
    """A request still open after the time it had to be filled by: flagged (a contract KPI)."""
    return request.status is RequestStatus.OPEN and now >= request.fill_by_at


@use_case
def post_request(
    *,
    contract_id: int,
    school_id: int,
    role: rules.SupplyRole,
    session: Session,
    starts_on: date,
    ends_on: date,
    actor: User | None,
    today: date,
    phase: str = "",
    subject: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> CoverRequest:
    """An SBM asks for cover: from one day to a long-term assignment, full or half days."""
    now = now or utcnow()
    contract = db.session.get(SupplyContract, contract_id)
    school = db.session.get(School, school_id)
    if contract is None or school is None:
        raise InvalidSupply("There is no such contract")
    if starts_on < today:
        raise InvalidSupply("Cover cannot start in the past", field="starts_on")
    if ends_on < starts_on:
        raise InvalidSupply("The last day must be on or after the first", field="ends_on")
    if (ends_on - starts_on).days >= LONGEST_REQUEST_DAYS:
        raise InvalidSupply("A request can cover a year at most", field="ends_on")
    if starts_on < contract.starts_on or ends_on > contract.ends_on:
        raise InvalidSupply(
            f"The contract runs from {contract.starts_on:%-d %B %Y} "
            f"to {contract.ends_on:%-d %B %Y}",
            field="starts_on",
        )
    if not working_days(starts_on, ends_on):
        raise InvalidSupply("Those dates have no working day in them", field="starts_on")
    if len(notes) > NOTES_MAX:
        raise InvalidSupply(f"Keep notes to {NOTES_MAX:,} characters", field="notes")
    weighting = rules.weighting_for(school.la_code)
    if not db.session.scalar(
        sa.select(SupplyRate.id).where(
            SupplyRate.contract_id == contract.id,
            SupplyRate.role == role,
            SupplyRate.weighting == weighting,
            SupplyRate.replaced_at.is_(None),
        )
    ):
        raise InvalidSupply(
            f"The rate card has no {role.label.lower()} rate for {weighting.label.lower()}",
            field="role",
        )
    deadline = starts_at(starts_on) - timedelta(hours=contract.fill_by_hours)
    request = CoverRequest(
        contract_id=contract.id,
        school_id=school_id,
        role=role,
        session=session,
        weighting=weighting,
        starts_on=starts_on,
        ends_on=ends_on,
        phase=phase.strip()[:60],
        subject=subject.strip()[:100],
        notes=notes.strip(),
        posted_at=now,
        fill_by_at=max(deadline, now + timedelta(hours=1)),
        created_by_id=actor.id if actor else None,
    )
    db.session.add(request)
    db.session.flush()
    access.record(actor, "supply_request", request.id, "posted", school_id, role=role.value)
    emails.request_released(request, emails.released_agencies(request, now))
    db.session.commit()
    return request


def _rate(request: CoverRequest, provider_id: int, unit: rules.RateUnit) -> SupplyRate:
    rate = db.session.scalar(
        sa.select(SupplyRate).where(
            SupplyRate.contract_id == request.contract_id,
            SupplyRate.provider_id == provider_id,
            SupplyRate.role == request.role,
            SupplyRate.unit == unit,
            SupplyRate.weighting == request.weighting,
            SupplyRate.replaced_at.is_(None),
        )
    )
    if rate is None:
        raise InvalidSupply(
            f"Your agency has no {unit.label.lower()} rate for this role on the rate card"
        )
    return rate


def _double_booked(worker_id: int, request: CoverRequest) -> bool:
    return bool(
        db.session.scalar(
            sa.select(Booking.id)
            .join(CoverRequest, CoverRequest.id == Booking.request_id)
            .where(
                Booking.worker_id == worker_id,
                Booking.status == BookingStatus.CONFIRMED,
                CoverRequest.starts_on <= request.ends_on,
                CoverRequest.ends_on >= request.starts_on,
            )
        )
    )


def _require_cleared(worker: SupplyWorker, request: CoverRequest, today: date) -> None:
    problems = vetting_problems(worker, max(today, request.starts_on), request.ends_on)
    if problems:
        raise VettingIncomplete(
            f"{worker.name} cannot be offered until their checks are complete: "
            + "; ".join(problems)
            + "."
        )


@use_case
def propose(
    request_id: int,
    provider_id: int,
    worker_id: int,
    actor: User | None,
    *,
    today: date,
    now: datetime | None = None,
    note: str = "",
) -> Proposal:
    """An agency proposes a named worker; a missing or lapsed check refuses the proposal."""
    now = now or utcnow()
    request = access.get_request_for_agency(request_id, provider_id, now)
    if request.status is not RequestStatus.OPEN:
        raise SupplyStateConflict("This request is no longer open.")
    worker = access.get_worker_for_agency(worker_id, provider_id)
    if worker.role is not request.role:
        raise InvalidSupply(
            f"{worker.name} is not a {request.role.label.lower()}", field="worker_id"
        )
    _require_cleared(worker, request, today)
    if _double_booked(worker.id, request):
        raise SupplyStateConflict(f"{worker.name} is already booked on some of those days.")
    if db.session.scalar(
        sa.select(Proposal.id).where(
            Proposal.request_id == request.id, Proposal.worker_id == worker.id
        )
    ):
        raise SupplyStateConflict(f"{worker.name} is already proposed for this request.")
    proposal = Proposal(
        request_id=request.id,
        provider_id=provider_id,
        worker_id=worker.id,
        day_rate_id=_rate(request, provider_id, rules.RateUnit.DAY).id,
        half_day_rate_id=_rate(request, provider_id, rules.RateUnit.HALF_DAY).id,
        introduced=worker.introduced_by_school_id == request.school_id,
        note=note.strip()[:500],
        proposed_at=now,
    )
    db.session.add(proposal)
    db.session.flush()
    access.record(
        actor, "supply_request", request.id, "proposed", request.school_id, proposal_id=proposal.id
    )
    emails.worker_proposed(proposal)
    db.session.commit()
    return proposal


@dataclass(frozen=True)
class Quote:
    """What one proposal would cost the school per unit, in parts (the fee as booked)."""

    day: rules.RateParts
    half_day: rules.RateParts


def quote(proposal: Proposal) -> Quote:
    """The proposal's rates as the school would be charged (introduced-worker fee applied)."""
    bp = proposal.request.contract.introduced_fee_bp
    return Quote(
        rules.priced(proposal.day_rate.parts, introduced=proposal.introduced, introduced_fee_bp=bp),
        rules.priced(
            proposal.half_day_rate.parts, introduced=proposal.introduced, introduced_fee_bp=bp
        ),
    )


@use_case
def accept(
    proposal_id: int,
    school_id: int,
    actor: User | None,
    *,
    today: date,
    parity_day_pay_pence: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """The school accepts one proposal: the booking is confirmed, the others are not chosen."""
    now = now or utcnow()
    proposal = access.get_proposal_for_school(proposal_id, school_id)
    request = access.get_request_for_school(proposal.request_id, school_id, lock=True)
    if request.status is not RequestStatus.OPEN or proposal.status is not ProposalStatus.PROPOSED:
        raise SupplyStateConflict("This request has already been filled or cancelled.")
    if parity_day_pay_pence is not None and parity_day_pay_pence <= 0:
        raise InvalidSupply(
            "Enter your own day pay point, or leave it blank", field="parity_day_pay"
        )
    _require_cleared(proposal.worker, request, today)
    if _double_booked(proposal.worker_id, request):
        raise SupplyStateConflict(f"{proposal.worker.name} has been booked elsewhere meanwhile.")
    booking = Booking(
        request_id=request.id,
        proposal_id=proposal.id,
        school_id=school_id,
        provider_id=proposal.provider_id,
        worker_id=proposal.worker_id,
        role=request.role,
        parity_day_pay_pence=parity_day_pay_pence,
        confirmed_at=now,
    )
    db.session.add(booking)
    for other in access.proposals_for_school(request):
        other.status = ProposalStatus.NOT_CHOSEN
    proposal.status = ProposalStatus.ACCEPTED
    request.status = RequestStatus.FILLED
    request.filled_at = now
    db.session.flush()
    access.record(
        actor, "supply_booking", booking.id, "confirmed", school_id, request_id=request.id
    )
    emails.booking_confirmed(booking)
    db.session.commit()
    return booking


@use_case
def set_parity_pay(
    booking_id: int, school_id: int, day_pay_pence: int, actor: User | None
) -> Booking:
    """The school enters (or changes) its own day pay point for the role (AWR parity)."""
    if day_pay_pence <= 0:
        raise InvalidSupply("Enter your own day pay point", field="parity_day_pay")
    booking = access.get_booking_for_school(booking_id, school_id, lock=True)
    booking.parity_day_pay_pence = day_pay_pence
    access.record(
        actor,
        "supply_booking",
        booking.id,
        "parity-pay-set",
        school_id,
        day_pay_pence=day_pay_pence,
    )
    db.session.commit()
    return booking


@use_case
def cancel_request(
    request_id: int, school_id: int, actor: User | None, now: datetime | None = None
) -> CoverRequest:
    """The school withdraws a request nobody has filled yet (no fee: nothing was booked)."""
    request = access.get_request_for_school(request_id, school_id, lock=True)
    if request.status is not RequestStatus.OPEN:
        raise SupplyStateConflict(
            "Only an open request can be withdrawn; cancel its booking instead."
        )
    request.status = RequestStatus.CANCELLED
    request.cancelled_at = now or utcnow()
    access.record(actor, "supply_request", request.id, "cancelled", school_id)
    db.session.commit()
    return request


def cancellation_fee_for(booking: Booking, at: datetime) -> int:
    """What cancelling the booking at `at` costs under the contract's rule (first day's charge
    as booked, times the fee share, inside the notice period)."""
    request = booking.request
    contract = request.contract
    parts = quote(booking.proposal)
    first_day = parts.day if request.session is Session.FULL_DAY else parts.half_day
    return rules.cancellation_fee(
        first_day.charge_pence,
        at,
        starts_at(request.starts_on),
        contract.cancellation_notice_hours,
        contract.cancellation_fee_bp,
    )


@use_case
def cancel_booking(
    booking_id: int, school_id: int, actor: User | None, now: datetime | None = None
) -> Booking:
    """The school cancels a confirmed booking; inside the notice period the contract's fee
    is due."""
    now = now or utcnow()
    booking = access.get_booking_for_school(booking_id, school_id, lock=True)
    if booking.status is not BookingStatus.CONFIRMED:
        raise SupplyStateConflict("This booking is already cancelled.")
    booking.cancellation_fee_pence = cancellation_fee_for(booking, now)
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = now
    access.record(
        actor,
        "supply_booking",
        booking.id,
        "cancelled",
        school_id,
        fee_pence=booking.cancellation_fee_pence,
    )
    emails.booking_cancelled(booking)
    db.session.commit()
    return booking
