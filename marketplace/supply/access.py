"""Reaching supply records, always scoped to the organisation asking.

A school sees its own requests, the proposals made to them, its bookings and timesheets; an
agency sees the requests released to it, and only its own proposals, workers, rates, bookings
and timesheets — never another agency's. Anything else is "not found" (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from app import audit
from app.extensions import db
from app.models import Provider, School, User
from marketplace.supply import rules
from marketplace.supply.errors import NotReleased, SupplyNotFound
from marketplace.supply.models import (
    Booking,
    CoverRequest,
    PreferredWorker,
    Proposal,
    RequestStatus,
    SupplyAgency,
    SupplyBaseline,
    SupplyContract,
    SupplyRate,
    SupplyWorker,
    Timesheet,
)


def _one(stmt: sa.Select, what: str, lock: bool = False) -> Any:
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = db.session.scalar(stmt)
    if found is None:
        raise SupplyNotFound(f"There is no such {what}.")
    return found


def get_contract(contract_id: int) -> SupplyContract:
    """A managed-service contract (the partnership's pages)."""
    return _one(
        sa.select(SupplyContract)
        .where(SupplyContract.id == contract_id)
        .options(orm.selectinload(SupplyContract.agencies).joinedload(SupplyAgency.provider)),
        "contract",
    )


def get_request_for_school(request_id: int, school_id: int, *, lock: bool = False) -> CoverRequest:
    """One of the school's own cover requests (404 for anyone else's)."""
    stmt = sa.select(CoverRequest).where(
        CoverRequest.id == request_id, CoverRequest.school_id == school_id
    )
    return _one(stmt, "cover request", lock)


def agency_rank(contract_id: int, provider_id: int) -> int | None:
    """The agency's release rank on the contract, or None when it is not on it."""
    return db.session.scalar(
        sa.select(SupplyAgency.rank).where(
            SupplyAgency.contract_id == contract_id, SupplyAgency.provider_id == provider_id
        )
    )


def release_time(request: CoverRequest, rank: int) -> datetime:
    contract = request.contract
    return rules.released_at(
        request.posted_at, contract.release_mode, rank, contract.release_window_minutes
    )


def get_request_for_agency(
    request_id: int, provider_id: int, now: datetime, *, lock: bool = False
) -> CoverRequest:
    """A request released to this agency: on its contract, and its turn has come (404 before
    it is on the contract; 409 while another agency's window runs)."""
    request = _one(
        sa.select(CoverRequest).where(CoverRequest.id == request_id), "cover request", lock
    )
    rank = agency_rank(request.contract_id, provider_id)
    if rank is None:
        raise SupplyNotFound("There is no such cover request.")
    if now < release_time(request, rank):
        raise NotReleased("This request has not been released to your agency yet.")
    return request


def agency_requests(provider_id: int, now: datetime) -> list[CoverRequest]:
    """Open requests released to the agency by now, soonest first."""
    rows = db.session.execute(
        sa.select(CoverRequest, SupplyAgency.rank)
        .join(SupplyAgency, SupplyAgency.contract_id == CoverRequest.contract_id)
        .where(SupplyAgency.provider_id == provider_id, CoverRequest.status == RequestStatus.OPEN)
        .order_by(CoverRequest.starts_on, CoverRequest.id)
    ).all()
    return [request for request, rank in rows if now >= release_time(request, rank)]


def school_requests(school_id: int) -> list[CoverRequest]:
    """The school's cover requests, newest first."""
    return list(
        db.session.scalars(
            sa.select(CoverRequest)
            .where(CoverRequest.school_id == school_id)
            .order_by(CoverRequest.starts_on.desc(), CoverRequest.id.desc())
        )
    )


def proposals_for_school(request: CoverRequest) -> list[Proposal]:
    """Every proposal on a school's request (the caller loaded it for the school)."""
    return list(
        db.session.scalars(
            sa.select(Proposal).where(Proposal.request_id == request.id).order_by(Proposal.id)
        )
    )


def proposals_for_agency(request_id: int, provider_id: int) -> list[Proposal]:
    """The agency's own proposals on a request, never another agency's."""
    return list(
        db.session.scalars(
            sa.select(Proposal)
            .where(Proposal.request_id == request_id, Proposal.provider_id == provider_id)
            .order_by(Proposal.id)
        )
    )


def get_proposal_for_school(proposal_id: int, school_id: int, *, lock: bool = False) -> Proposal:
    stmt = (
        sa.select(Proposal)
        .join(CoverRequest, CoverRequest.id == Proposal.request_id)
        .where(Proposal.id == proposal_id, CoverRequest.school_id == school_id)
    )
    return _one(stmt, "proposal", lock)


def get_worker_for_agency(worker_id: int, provider_id: int) -> SupplyWorker:
    """One of the agency's own workers (404 for another agency's)."""
    stmt = sa.select(SupplyWorker).where(
        SupplyWorker.id == worker_id, SupplyWorker.provider_id == provider_id
    )
    return _one(stmt, "worker")


def agency_workers(provider_id: int) -> list[SupplyWorker]:
    return list(
        db.session.scalars(
            sa.select(SupplyWorker)
            .where(SupplyWorker.provider_id == provider_id)
            .order_by(SupplyWorker.name, SupplyWorker.id)
        )
    )


def agency_rates(provider_id: int) -> list[SupplyRate]:
    """The agency's own rates on every contract (never another agency's)."""
    return list(
        db.session.scalars(
            sa.select(SupplyRate)
            .where(SupplyRate.provider_id == provider_id, SupplyRate.replaced_at.is_(None))
            .order_by(SupplyRate.role, SupplyRate.weighting, SupplyRate.unit)
        )
    )


def contract_rates(contract_id: int, *, replaced: bool = False) -> list[SupplyRate]:
    """The whole rate card (schools and the partnership see every part of every rate); with
    `replaced`, the earlier rates changes took off the card (its history), latest first."""
    if replaced:
        return list(
            db.session.scalars(
                sa.select(SupplyRate)
                .options(orm.joinedload(SupplyRate.provider))
                .where(SupplyRate.contract_id == contract_id, SupplyRate.replaced_at.is_not(None))
                .order_by(SupplyRate.replaced_at.desc(), SupplyRate.id.desc())
            )
        )
    return list(
        db.session.scalars(
            sa.select(SupplyRate)
            .options(orm.joinedload(SupplyRate.provider))
            .where(SupplyRate.contract_id == contract_id, SupplyRate.replaced_at.is_(None))
            .order_by(
                SupplyRate.role, SupplyRate.weighting, SupplyRate.provider_id, SupplyRate.unit
            )
        )
    )


def get_booking_for_school(booking_id: int, school_id: int, *, lock: bool = False) -> Booking:
    """One of the school's own bookings (404 for another school's)."""
    stmt = sa.select(Booking).where(Booking.id == booking_id, Booking.school_id == school_id)
    return _one(stmt, "booking", lock)


def get_booking_for_agency(booking_id: int, provider_id: int, *, lock: bool = False) -> Booking:
    """A booking of one of the agency's workers (404 for another agency's)."""
    stmt = sa.select(Booking).where(Booking.id == booking_id, Booking.provider_id == provider_id)
    return _one(stmt, "booking", lock)


def school_bookings(school_id: int) -> list[Booking]:
    return list(
        db.session.scalars(
            sa.select(Booking).where(Booking.school_id == school_id).order_by(Booking.id.desc())
        )
    )


def agency_bookings(provider_id: int) -> list[Booking]:
    return list(
        db.session.scalars(
            sa.select(Booking).where(Booking.provider_id == provider_id).order_by(Booking.id.desc())
        )
    )


def get_timesheet_for_school(timesheet_id: int, school_id: int, *, lock: bool = False) -> Timesheet:
    stmt = sa.select(Timesheet).where(
        Timesheet.id == timesheet_id, Timesheet.school_id == school_id
    )
    return _one(stmt, "timesheet", lock)


def get_timesheet_for_agency(
    timesheet_id: int, provider_id: int, *, lock: bool = False
) -> Timesheet:
    stmt = sa.select(Timesheet).where(
        Timesheet.id == timesheet_id, Timesheet.provider_id == provider_id
    )
    return _one(stmt, "timesheet", lock)


def booking_timesheets(booking_id: int) -> list[Timesheet]:
    return list(
        db.session.scalars(
            sa.select(Timesheet)
            .where(Timesheet.booking_id == booking_id)
            .order_by(Timesheet.week_starting)
        )
    )


def record(
    actor: User | None, kind: str, entity_id: int, action: str, school_id: int, **after: object
) -> None:
    """Write the audit event for a change, in the caller's transaction."""
    audit.record(actor, kind, entity_id, action, after=dict(after), scope=f"school:{school_id}")


def preferred_worker_ids(school_id: int) -> set[int]:
    """The workers the school has named as preferred."""
    return set(
        db.session.scalars(
            sa.select(PreferredWorker.worker_id).where(PreferredWorker.school_id == school_id)
        )
    )


# The partnership's set-up pages ------------------------------------------------------------------


def contracts() -> list[SupplyContract]:
    """Every managed-service contract, the latest to start first."""
    return list(
        db.session.scalars(
            sa.select(SupplyContract)
            .options(orm.selectinload(SupplyContract.agencies))
            .order_by(SupplyContract.starts_on.desc(), SupplyContract.id.desc())
        )
    )


def providers() -> list[Provider]:
    """Every provider, by name: the agencies the partnership may put on a contract."""
    return list(db.session.scalars(sa.select(Provider).order_by(Provider.name, Provider.id)))


def schools() -> list[School]:
    """Every school, by name: whose pre-contract rates the partnership enters."""
    return list(db.session.scalars(sa.select(School).order_by(School.name, School.id)))


def baselines() -> list[SupplyBaseline]:
    """Every school's pre-contract day charges, by school and role."""
    return list(
        db.session.scalars(
            sa.select(SupplyBaseline)
            .join(School, School.id == SupplyBaseline.school_id)
            .options(orm.contains_eager(SupplyBaseline.school))
            .order_by(School.name, SupplyBaseline.school_id, SupplyBaseline.role)
        )
    )
