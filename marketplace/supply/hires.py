"""Temp-to-perm: a school hires a worker it has had through the service. The introduction fee
follows the contract (marketplace.supply.rules.temp_to_perm_fee) and is quoted before the
school confirms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.use_case import use_case
from marketplace.supply import access, awr, rules
from marketplace.supply.errors import InvalidSupply, SupplyNotFound, SupplyStateConflict
from marketplace.supply.models import (
    Booking,
    PermanentHire,
    SupplyContract,
    Timesheet,
    TimesheetLine,
    TimesheetStatus,
    Vacancy,
)


def weeks_engaged(school_id: int, worker_id: int) -> int:
    """Calendar weeks in which the worker worked for the school (any role, not queried)."""
    days = db.session.scalars(
        sa.select(TimesheetLine.worked_on)
        .join(Timesheet, Timesheet.id == TimesheetLine.timesheet_id)
        .where(
            Timesheet.school_id == school_id,
            Timesheet.status != TimesheetStatus.QUERIED,
            Timesheet.booking_id.in_(sa.select(Booking.id).where(Booking.worker_id == worker_id)),
        )
    )
    return len({awr.week_of(day) for day in days})


@dataclass(frozen=True)
class HireQuote:
    worker_id: int
    provider_id: int
    worker_name: str
    weeks_engaged: int
    salary_pence: int
    fee_pence: int
    free_after_weeks: int
    max_fee_bp: int


def _latest_booking(school_id: int, worker_id: int) -> Booking:
    booking = db.session.scalar(
        sa.select(Booking)
        .where(Booking.school_id == school_id, Booking.worker_id == worker_id)
        .order_by(Booking.id.desc())
    )
    if booking is None:
        raise SupplyNotFound("The school has not had this worker through the service.")
    return booking


def quote(school_id: int, worker_id: int, salary_pence: int) -> HireQuote:
    """The introduction fee the contract charges if the school hires the worker now."""
    if salary_pence <= 0:
        raise InvalidSupply("Enter the annual salary you will pay", field="salary")
    booking = _latest_booking(school_id, worker_id)
    contract: SupplyContract = booking.request.contract
    weeks = weeks_engaged(school_id, worker_id)
    return HireQuote(
        worker_id=worker_id,
        provider_id=booking.provider_id,
        worker_name=booking.worker.name,
        weeks_engaged=weeks,
        salary_pence=salary_pence,
        fee_pence=rules.temp_to_perm_fee(
            salary_pence,
            weeks,
            contract.temp_to_perm_free_after_weeks,
            contract.temp_to_perm_max_fee_bp,
        ),
        free_after_weeks=contract.temp_to_perm_free_after_weeks,
        max_fee_bp=contract.temp_to_perm_max_fee_bp,
    )


@use_case
def hire(
    school_id: int,
    worker_id: int,
    salary_pence: int,
    starts_on: date,
    shown_fee_pence: int,
    actor: User | None,
    vacancy_id: int | None = None,
) -> PermanentHire:
    """The school confirms the hire at the fee it was shown (refused if the fee has changed)."""
    offer = quote(school_id, worker_id, salary_pence)
    if offer.fee_pence != shown_fee_pence:
        raise SupplyStateConflict(
            "The introduction fee has changed since it was shown: check it again."
        )
    if (
        vacancy_id is not None
        and db.session.scalar(
            sa.select(Vacancy.id).where(Vacancy.id == vacancy_id, Vacancy.school_id == school_id)
        )
        is None
    ):
        raise InvalidSupply("That is not one of your vacancies", field="vacancy_id")
    if db.session.scalar(
        sa.select(PermanentHire.id).where(
            PermanentHire.school_id == school_id, PermanentHire.worker_id == worker_id
        )
    ):
        raise SupplyStateConflict(f"{offer.worker_name} is already recorded as hired.")
    hired = PermanentHire(
        school_id=school_id,
        provider_id=offer.provider_id,
        worker_id=worker_id,
        vacancy_id=vacancy_id,
        weeks_engaged=offer.weeks_engaged,
        salary_pence=salary_pence,
        fee_pence=offer.fee_pence,
        starts_on=starts_on,
    )
    db.session.add(hired)
    db.session.flush()
    access.record(actor, "supply_hire", hired.id, "hired", school_id, fee_pence=offer.fee_pence)
    db.session.commit()
    return hired
