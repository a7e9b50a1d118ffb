"""The supply-staff managed service: the contract, its agencies and rate card, workers and their
vetting, cover requests, proposals, bookings, timesheets, temp-to-perm hires; and vacancies.

The managed-service contract is recorded here (the marketplace never reads the procurement
register); `reference` carries the awarded contract's reference as a label.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.extensions import Model
from app.models import Provider, School, enum_column
from app.statuses import status_label
from app.time import utcnow
from app.types import UTCDateTime
from marketplace.supply.rules import (
    CheckKind,
    RateParts,
    RateUnit,
    ReleaseMode,
    SupplyRole,
    Weighting,
)


class SupplyContract(Model):
    """The managed-service contract: its agencies, rate card and rules."""

    __tablename__ = "supply_contracts"
    __table_args__ = (
        sa.CheckConstraint(
            "introduced_fee_bp >= 0 AND introduced_fee_bp <= 10000", name="introduced_in_range"
        ),
        sa.CheckConstraint(
            "cancellation_fee_bp >= 0 AND cancellation_fee_bp <= 10000", name="cancel_in_range"
        ),
        sa.CheckConstraint("release_window_minutes >= 0", name="window_not_negative"),
        sa.CheckConstraint("cancellation_notice_hours >= 0", name="notice_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    # The awarded contract's reference in the partnership's register, as a label.
    reference: Mapped[str] = mapped_column(sa.String(80), default="")
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    release_mode: Mapped[ReleaseMode] = enum_column(ReleaseMode, default=ReleaseMode.ALL_AT_ONCE)
    release_window_minutes: Mapped[int] = mapped_column(default=30)
    # A request not filled this many hours before its first day starts (08:00) is flagged.
    fill_by_hours: Mapped[int] = mapped_column(default=12)
    cancellation_notice_hours: Mapped[int] = mapped_column(default=24)
    cancellation_fee_bp: Mapped[int] = mapped_column(default=10_000)
    introduced_fee_bp: Mapped[int] = mapped_column(default=5_000)
    temp_to_perm_free_after_weeks: Mapped[int] = mapped_column(default=12)
    temp_to_perm_max_fee_bp: Mapped[int] = mapped_column(default=2_000)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agencies: Mapped[list[SupplyAgency]] = relationship(
        back_populates="contract", order_by="SupplyAgency.rank"
    )


class SupplyAgency(Model):
    """An agency (a provider) on the contract, in its release rank (1 = first)."""

    __tablename__ = "supply_agencies"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "provider_id", name="uq_supply_agencies_provider"),
        sa.CheckConstraint("rank >= 1", name="rank_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_contracts.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    rank: Mapped[int] = mapped_column(default=1)

    contract: Mapped[SupplyContract] = relationship(back_populates="agencies")
    provider: Mapped[Provider] = relationship()


class SupplyRate(Model):
    """One rate on the card: agency × role × unit × London weighting, in parts.

    A rate some proposal was priced at is never changed: changing it on the card marks it
    `replaced_at` and adds the new rate, so the proposals and bookings made at the old rate
    keep it (history). One current (not replaced) rate per cell.
    """

    __tablename__ = "supply_rates"
    __table_args__ = (
        sa.Index(
            "uq_supply_rates_current_cell",
            "contract_id",
            "provider_id",
            "role",
            "unit",
            "weighting",
            unique=True,
            sqlite_where=sa.text("replaced_at IS NULL"),
            postgresql_where=sa.text("replaced_at IS NULL"),
        ),
        sa.CheckConstraint(
            "pay_pence >= 0 AND ni_pence >= 0 AND pension_pence >= 0 AND holiday_pence >= 0 "
            "AND fee_pence >= 0",
            name="parts_not_negative",
        ),
        sa.CheckConstraint(
            "charge_pence = pay_pence + ni_pence + pension_pence + holiday_pence + fee_pence",
            name="charge_is_sum",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_contracts.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    role: Mapped[SupplyRole] = enum_column(SupplyRole)
    unit: Mapped[RateUnit] = enum_column(RateUnit)
    weighting: Mapped[Weighting] = enum_column(Weighting, default=Weighting.NONE)
    pay_pence: Mapped[int]
    ni_pence: Mapped[int]
    pension_pence: Mapped[int]
    holiday_pence: Mapped[int]
    fee_pence: Mapped[int]
    charge_pence: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a changed rate took its place on the card; None: the current rate.
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    provider: Mapped[Provider] = relationship()

    @property
    def parts(self) -> RateParts:
        return RateParts(
            self.pay_pence, self.ni_pence, self.pension_pence, self.holiday_pence, self.fee_pence
        )


class SupplyBaseline(Model):
    """A school's pre-contract day charge for a role, entered at onboarding (for savings)."""

    __tablename__ = "supply_baselines"
    __table_args__ = (
        sa.UniqueConstraint("school_id", "role", name="uq_supply_baselines_school_role"),
        sa.CheckConstraint("day_charge_pence > 0", name="charge_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    role: Mapped[SupplyRole] = enum_column(SupplyRole)
    day_charge_pence: Mapped[int]

    school: Mapped[School] = relationship()


class SupplyWorker(Model):
    """A worker on an agency's books; only the agency (and the partnership) sees the profile."""

    __tablename__ = "supply_workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[SupplyRole] = enum_column(SupplyRole)
    trn: Mapped[str] = mapped_column(sa.String(20), default="")
    # A worker the school introduced itself: the lower agency fee applies at that school.
    introduced_by_school_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("schools.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    provider: Mapped[Provider] = relationship()
    checks: Mapped[list[VettingCheck]] = relationship(
        back_populates="worker", order_by="VettingCheck.kind"
    )


class VettingCheck(Model):
    """One vetting check of a worker, with its date and expiry (the latest per kind counts)."""

    __tablename__ = "supply_vetting_checks"
    __table_args__ = (
        sa.UniqueConstraint("worker_id", "kind", name="uq_supply_vetting_checks_kind"),
        sa.CheckConstraint("expires_on >= checked_on", name="expires_after_check"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_workers.id"), index=True)
    kind: Mapped[CheckKind] = enum_column(CheckKind)
    checked_on: Mapped[date]
    expires_on: Mapped[date]
    reference: Mapped[str] = mapped_column(sa.String(100), default="")

    worker: Mapped[SupplyWorker] = relationship(back_populates="checks")


class PreferredWorker(Model):
    """A worker a school has nominated as preferred: flagged first on its requests' proposals."""

    __tablename__ = "supply_preferred_workers"
    __table_args__ = (
        sa.UniqueConstraint("school_id", "worker_id", name="uq_supply_preferred_workers_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_workers.id"), index=True)


class RequestStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"


class Session(StrEnum):
    FULL_DAY = "full-day"
    MORNING = "morning"
    AFTERNOON = "afternoon"

    @property
    def unit(self) -> RateUnit:
        return RateUnit.DAY if self is Session.FULL_DAY else RateUnit.HALF_DAY

    @property
    def label(self) -> str:
        return {"full-day": "Full days", "morning": "Mornings", "afternoon": "Afternoons"}[
            self.value
        ]


class CoverRequest(Model):
    """A school asking for cover: dates, full or half days, role, phase and subject."""

    __tablename__ = "supply_requests"
    __table_args__ = (sa.CheckConstraint("ends_on >= starts_on", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_contracts.id"), index=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    role: Mapped[SupplyRole] = enum_column(SupplyRole)
    session: Mapped[Session] = enum_column(Session, default=Session.FULL_DAY)
    weighting: Mapped[Weighting] = enum_column(Weighting, default=Weighting.NONE)
    starts_on: Mapped[date] = mapped_column(index=True)
    ends_on: Mapped[date]
    phase: Mapped[str] = mapped_column(sa.String(60), default="")
    subject: Mapped[str] = mapped_column(sa.String(100), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[RequestStatus] = enum_column(
        RequestStatus, default=RequestStatus.OPEN, index=True
    )
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fill_by_at: Mapped[datetime] = mapped_column(UTCDateTime)
    filled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    contract: Mapped[SupplyContract] = relationship()
    school: Mapped[School] = relationship()


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    NOT_CHOSEN = "not-chosen"


class Proposal(Model):
    """An agency proposing a named worker for a request; no other agency ever sees it."""

    __tablename__ = "supply_proposals"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "worker_id", name="uq_supply_proposals_worker"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_requests.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_workers.id"), index=True)
    day_rate_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_rates.id"))
    half_day_rate_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_rates.id"))
    introduced: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ProposalStatus] = enum_column(ProposalStatus, default=ProposalStatus.PROPOSED)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[CoverRequest] = relationship()
    provider: Mapped[Provider] = relationship()
    worker: Mapped[SupplyWorker] = relationship()
    day_rate: Mapped[SupplyRate] = relationship(foreign_keys=[day_rate_id])
    half_day_rate: Mapped[SupplyRate] = relationship(foreign_keys=[half_day_rate_id])


class BookingStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class Booking(Model):
    """A confirmed booking of a named worker, priced by the rates it was proposed at."""

    __tablename__ = "supply_bookings"
    __table_args__ = (
        sa.CheckConstraint("cancellation_fee_pence >= 0", name="fee_not_negative"),
        sa.CheckConstraint(
            "parity_day_pay_pence IS NULL OR parity_day_pay_pence > 0", name="parity_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_requests.id"), unique=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_proposals.id"), unique=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_workers.id"), index=True)
    role: Mapped[SupplyRole] = enum_column(SupplyRole)
    # The school's own pay point for a day (AWR parity from week 13); half days pay half.
    parity_day_pay_pence: Mapped[int | None]
    status: Mapped[BookingStatus] = enum_column(BookingStatus, default=BookingStatus.CONFIRMED)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancellation_fee_pence: Mapped[int] = mapped_column(default=0)
    # Set by the billing run once: the invoice that bills the cancellation fee (its own, or
    # its trust's invoice for all the trust's schools).
    cancellation_invoice_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invoices.id"), index=True
    )

    request: Mapped[CoverRequest] = relationship()
    proposal: Mapped[Proposal] = relationship()
    school: Mapped[School] = relationship()
    provider: Mapped[Provider] = relationship()
    worker: Mapped[SupplyWorker] = relationship()

    def snapshot(self) -> dict[str, Any]:
        return {"status": self.status.value, "worker_id": self.worker_id}


class TimesheetStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    QUERIED = "queried"

    @property
    def label(self) -> str:
        """The words of the one vocabulary (marketplace/supply/labels.py)."""
        return status_label(self) or self.value


class Timesheet(Model):
    """One booking's week (Monday to Sunday), submitted by the agency, decided by the school."""

    __tablename__ = "supply_timesheets"
    __table_args__ = (
        sa.UniqueConstraint("booking_id", "week_starting", name="uq_supply_timesheets_week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_bookings.id"), index=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    week_starting: Mapped[date]
    # The term the week falls in (app.calendar.Term key): the billing and payables period.
    term_key: Mapped[str] = mapped_column(sa.String(20), index=True)
    status: Mapped[TimesheetStatus] = enum_column(
        TimesheetStatus, default=TimesheetStatus.SUBMITTED, index=True
    )
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decide_by_on: Mapped[date]
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    query_note: Mapped[str] = mapped_column(sa.String(500), default="")
    # Set by the billing run once: the invoice that bills this week (its own, or its trust's
    # invoice for all the trust's schools).
    invoice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invoices.id"), index=True)

    booking: Mapped[Booking] = relationship()
    lines: Mapped[list[TimesheetLine]] = relationship(
        back_populates="timesheet", order_by="TimesheetLine.worked_on", cascade="all, delete-orphan"
    )


class TimesheetLine(Model):
    """A day or half day worked, priced in parts; charge = pay + on-costs + fee exactly."""

    __tablename__ = "supply_timesheet_lines"
    __table_args__ = (
        sa.UniqueConstraint("timesheet_id", "worked_on", name="uq_supply_lines_day"),
        sa.CheckConstraint(
            "charge_pence = pay_pence + oncost_pence + fee_pence", name="charge_is_sum"
        ),
        sa.CheckConstraint("awr_week >= 1", name="awr_week_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    timesheet_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_timesheets.id"), index=True)
    worked_on: Mapped[date] = mapped_column(index=True)
    unit: Mapped[RateUnit] = enum_column(RateUnit)
    pay_pence: Mapped[int]
    oncost_pence: Mapped[int]
    fee_pence: Mapped[int]
    charge_pence: Mapped[int]
    awr_week: Mapped[int] = mapped_column(default=1)
    at_parity: Mapped[bool] = mapped_column(default=False)

    timesheet: Mapped[Timesheet] = relationship(back_populates="lines")


class PermanentHire(Model):
    """A school hiring a worker it had through the service, and the fee the contract charges."""

    __tablename__ = "supply_permanent_hires"
    __table_args__ = (
        sa.UniqueConstraint("school_id", "worker_id", name="uq_supply_hires_worker"),
        sa.CheckConstraint("fee_pence >= 0 AND salary_pence > 0", name="amounts_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("supply_workers.id"), index=True)
    vacancy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vacancies.id"))
    weeks_engaged: Mapped[int]
    salary_pence: Mapped[int] = mapped_column(sa.BigInteger)
    fee_pence: Mapped[int] = mapped_column(sa.BigInteger)
    starts_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    worker: Mapped[SupplyWorker] = relationship()


class ContractType(StrEnum):
    PERMANENT = "permanent"
    FIXED_TERM = "fixed-term"
    MATERNITY_COVER = "maternity-cover"

    @property
    def label(self) -> str:
        return {
            "permanent": "Permanent",
            "fixed-term": "Fixed term",
            "maternity-cover": "Maternity cover",
        }[self.value]


class Vacancy(Model):
    """A school's vacancy on the partnership's public board, shown until its closing date."""

    __tablename__ = "vacancies"
    __table_args__ = (
        sa.CheckConstraint(
            "salary_min_pence > 0 AND salary_max_pence >= salary_min_pence", name="salary_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[SupplyRole] = enum_column(SupplyRole)
    contract_type: Mapped[ContractType] = enum_column(ContractType)
    phase: Mapped[str] = mapped_column(sa.String(60), default="")
    subject: Mapped[str] = mapped_column(sa.String(100), default="")
    salary_min_pence: Mapped[int] = mapped_column(sa.BigInteger)
    salary_max_pence: Mapped[int] = mapped_column(sa.BigInteger)
    closing_on: Mapped[date] = mapped_column(index=True)
    description: Mapped[str] = mapped_column(sa.Text)
    # Links to the job description and application pack (one per line).
    documents: Mapped[str] = mapped_column(sa.Text, default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    school: Mapped[School] = relationship()
    files: Mapped[list[VacancyDocument]] = relationship(order_by="VacancyDocument.id")


class VacancyDocument(Model):
    """A file posted with a vacancy (job description, application pack), public while the
    vacancy is open. The bytes live in the database, so every web host can serve them."""

    __tablename__ = "vacancy_documents"
    __table_args__ = (sa.CheckConstraint("size_bytes > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vacancy_id: Mapped[int] = mapped_column(
        sa.ForeignKey("vacancies.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary, nullable=False))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
